// Preloaded (`node --import`) into the real entry point by bench/rss.ts (dist/main.js) and by tests that
// run it (src/main.ts after tsx): points it at the local Discord and TikTok, which no configuration key
// can do. CLIP_BENCH_FAKES (JSON) says where they are and which files to reach into. It
// only changes addresses: discord.js's default REST address and the TikTok adapter's default hosts,
// both read when the client and each connection are built. (The local TikTok's certificate comes in
// through NODE_EXTRA_CA_CERTS.) Plain JavaScript, so no TypeScript loader sits in the measured process.
// With `--expose-gc`, SIGUSR2 runs a full collection, so a figure can be read after a GC.
import { createRequire } from 'node:module';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const fakes = JSON.parse(process.env.CLIP_BENCH_FAKES ?? '{}');
const require = createRequire(fakes.main);
// The same module instance discord.js uses (node_modules resolves to one real path).
require('@discordjs/rest').DefaultRestOptions.api = fakes.discordApiUrl;
const { TIKTOK_DEFAULTS } = await import(pathToFileURL(fakes.tiktokDefaults).href);
Object.assign(TIKTOK_DEFAULTS.transport, fakes.tiktok);

const gc = globalThis.gc;
if (typeof gc === 'function') {
  process.on('SIGUSR2', () => {
    // Twice: weak references and finalizers need a second pass.
    gc();
    gc();
  });
}
