/**
 * Another running bot, for the instance-lock tests: takes the lock on argv[2] with a heartbeat every
 * argv[3] ms, prints "locked", and holds it until killed.
 */
import process from 'node:process';
import { pino } from 'pino';
import { acquireInstanceLock } from '../../src/instance-lock.js';

const [dir, heartbeat] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: lock-holder <dir> [heartbeatMs]');
await acquireInstanceLock(dir, pino({ level: 'silent' }), { heartbeatMs: Number(heartbeat ?? 5_000) });
process.stdout.write('locked\n');
// The heartbeat timer is unref'd, as in the bot; this keeps the process (like the bot's connections) alive.
setInterval(() => undefined, 60_000);
