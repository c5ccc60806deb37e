/**
 * A second bot process for the storage tests: opens the store named by argv[2], prints "ready", waits for
 * a line on stdin (so two processes edit at the same moment, not one after the other's start-up), adds
 * the keywords argv[4..] to guild argv[3] one update each, all at once, then prints "done" and exits.
 * Run with tsx: `node --import tsx tests/support/storage-editor.ts <url> <guild> <word>...`.
 */
import process from 'node:process';
import { pino } from 'pino';
import { BotStore } from '../../src/store/bot-store.js';

const [databaseUrl, guildId, ...words] = process.argv.slice(2);
if (databaseUrl === undefined || guildId === undefined) throw new Error('usage: storage-editor <url> <guild> <word>...');
const store = await BotStore.open(databaseUrl, pino({ level: 'silent' }));
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.pause();
await Promise.all(
  words.map((word) =>
    store.update(guildId, (current) => ({ ...current, keywords: [...current.keywords, { word, mode: 'contains' }] })),
  ),
);
await store.close();
process.stdout.write('done\n');
