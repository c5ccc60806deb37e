import type { Logger } from 'pino';

/** One named step of a shutdown, e.g. `['store', () => store.close()]`. */
export type ShutdownStep = readonly [what: string, step: () => unknown];

/**
 * Runs every step in order, each even when one before it fails, so no child process, connection or lock
 * is left behind by an early failure; then throws them together.
 */
export async function runShutdown(steps: readonly ShutdownStep[], log: Logger): Promise<void> {
  const failures: unknown[] = [];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      log.error({ err, step: what }, 'a shutdown step failed; going on with the others');
      failures.push(err);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} shutdown step(s) failed`);
}
