/**
 * The whole bot in a process of its own, for tests that kill it (SIGKILL) and start it again: like
 * src/main.ts, but pointed at the local fakes. Configuration comes from the environment (loadConfig, as
 * in production); the seams main.ts has no key for (the local Discord's REST address, the local TikTok)
 * come as JSON in CLIP_BOT_TEST_OVERRIDES, and `standInObsDir` there puts the stand-in OBS
 * (tests/fakes/fake-replay-buffer.ts, saving small files into that folder) where OBS would be. Prints
 * `ready <pid>` once started; SIGTERM stops it cleanly. tests/support/bot-child.ts starts and kills it.
 */
import process from 'node:process';
import pino from 'pino';
import { createBot, type BotOverrides } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { FakeReplayBuffer } from '../fakes/fake-replay-buffer.js';

export type BotProcessOverrides = BotOverrides & { readonly standInObsDir?: string };

const config = loadConfig(process.env);
const { standInObsDir, ...overrides } = JSON.parse(process.env['CLIP_BOT_TEST_OVERRIDES'] ?? '{}') as BotProcessOverrides;
const adapters = standInObsDir === undefined ? overrides.adapters : { ...overrides.adapters, replayBuffer: new FakeReplayBuffer(standInObsDir) };
const bot = await createBot(config, pino({ level: config.logLevel }, pino.destination(2)), { ...overrides, ...(adapters ? { adapters } : {}) });
process.once('SIGTERM', () => void bot.stop().finally(() => process.exit(0)));
await bot.start();
process.stdout.write(`ready ${process.pid}\n`);
