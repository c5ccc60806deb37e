// Builds the logger exactly as `npm start` does (openServiceLogger, from the environment) and writes a
// few lines, one with the token inside it; run by tests/integration/log-terminal.test.ts under a
// pseudo-terminal and through a pipe.
import { loadConfig } from '../../src/config.js';
import { openServiceLogger } from '../../src/logger.js';

const config = loadConfig(process.env);
const { log, close } = await openServiceLogger(config);
log.child({ component: 'events' }).info({ guild: '123', stream: 'probe.user', kind: 'save', detail: 'saved a.mp4' }, 'clip filed');
log.warn({ url: `https://example.invalid/?token=${encodeURIComponent(config.discordToken)}` }, `request failed for ${config.discordToken}`);
await close();
