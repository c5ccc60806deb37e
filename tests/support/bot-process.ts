/**
 * The whole bot in a process of its own, for tests that kill it (SIGKILL) and start it again: like
 * src/main.ts, but pointed at the local fakes. Configuration comes from the environment (loadConfig, as
 * in production); the seams main.ts has no key for (the local Discord's REST address, the local TikTok)
 * come as JSON in CLIP_BOT_TEST_OVERRIDES. Prints `ready <pid>` once started; SIGTERM stops it cleanly.
 */
import process from 'node:process';
import pino from 'pino';
import { createBot, type BotOverrides } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

const config = loadConfig(process.env);
const overrides = JSON.parse(process.env['CLIP_BOT_TEST_OVERRIDES'] ?? '{}') as BotOverrides;
const bot = await createBot(config, pino({ level: config.logLevel }, pino.destination(2)), overrides);
process.once('SIGTERM', () => void bot.stop().finally(() => process.exit(0)));
await bot.start();
process.stdout.write(`ready ${process.pid}\n`);
