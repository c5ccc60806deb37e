// Preloaded (`node --import`) into a bot process by tests that check what it loads: records every
// module the process loads (ESM through a loader hook, CommonJS from require's cache) and, on SIGUSR2,
// writes the list of their file URLs and paths as JSON to CLIP_TEST_MODULES_FILE. Plain JavaScript,
// so it works before any TypeScript loader.
import { renameSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import process from 'node:process';
import { MessageChannel } from 'node:worker_threads';

const file = process.env.CLIP_TEST_MODULES_FILE;
const loaded = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => loaded.add(url));
port1.unref();
register('./module-recorder-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });

const requireCache = createRequire(import.meta.url).cache;
process.on('SIGUSR2', () => {
  if (!file) return;
  // Written beside and renamed, so a reader never sees half a list.
  writeFileSync(`${file}.part`, JSON.stringify([...loaded, ...Object.keys(requireCache)]));
  renameSync(`${file}.part`, file);
});
