import './load-env.js';
import { createBot } from './app.js';
import { loadConfig } from './config.js';
import { isAppError } from './util/errors.js';
import { openServiceLogger } from './logger.js';

/** Entry point: `npm start`. Reads .env, validates it, runs the bot until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (isAppError(err, 'CONFIG_INVALID')) {
      // One clear message naming every bad key; never a stack trace for a configuration mistake.
      process.stderr.write(`${err.message}\nSee .env.example for every key and its meaning.\n`);
      process.exit(1);
    }
    throw err;
  }

  const { log, close: closeLog } = await openServiceLogger(config);
  // The log file is buffered: write it out before any exit.
  const exit = (code: number) => void closeLog().finally(() => process.exit(code));
  const bot = await createBot(config, log);

  let isStopping = false;
  const shutdown = (signal: string, exitCode = 0) => {
    if (isStopping) return;
    isStopping = true;
    log.info({ signal }, 'shutting down');
    void bot.stop().then(
      () => exit(exitCode),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  // Ctrl+C, a service manager's stop, a closed terminal (SIGHUP; on Windows a closed console window),
  // and Ctrl+Break on Windows (SIGBREAK) all stop the bot the same clean way.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const) process.on(signal, () => shutdown(signal));
  // A stray rejection somewhere must not take the show down: log it and keep serving.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  // After an uncaught exception the process state is unknown: close what we can and stop, loudly.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; stopping');
    shutdown('uncaughtException', 1);
  });

  try {
    await bot.start();
    log.info({ clipsDir: config.clipsDir, obs: config.obsUrl }, 'bot ready');
  } catch (err) {
    log.fatal({ err }, 'could not start the bot');
    await bot.stop().catch(() => undefined);
    exit(1);
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`Fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
