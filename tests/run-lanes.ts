/**
 * `npm test`: the suite in two lanes at once, each its own `vitest run --project <lane>` process running
 * its files one at a time (the lanes and which file is in which: vitest.config.ts). The serial lane's
 * files compute (OBS, ffmpeg, live video); the waiting lane's mostly sleep (sliding connect windows,
 * SIGKILLed processes started again, cluster failovers), so the two share two cores without starving
 * each other and the whole run takes about as long as its longer lane.
 *
 * Vitest 4.1 runs projects of different `maxWorkers` one group after another, never side by side, so the
 * lanes are two processes. Arguments go to both (`npm test -- tests/unit/foo.test.ts` runs that file in
 * whichever lane holds it); with `--project` it is one plain vitest run. Each lane's output is passed on
 * line by line, and a line per lane at the end says how long it took. Each vitest child is tracked by its
 * pid and ended by it when this process is told to stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LANES } from '../vitest.config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
const args = process.argv.slice(2);
/**
 * The waiting lane runs at a lower CPU priority (its workers, bots, servers and ffmpegs inherit it): its
 * files wait minutes for windows and failovers and do not mind a slower second, while the serial lane's
 * OBS and real-time video are what starve when both lanes want the CPU at once.
 */
const NICENESS: Partial<Record<string, number>> = { waiting: 10 };

interface LaneResult {
  readonly lane: string;
  readonly code: number;
  readonly seconds: number;
  /** Vitest found none of the lane's files among the arguments (`--passWithNoTests` let it pass). */
  readonly isEmpty: boolean;
}

const children = new Set<ChildProcess>();

function runLane(lane: string | undefined): Promise<LaneResult> {
  const laneArgs = lane === undefined ? args : ['--project', lane, '--passWithNoTests', ...args];
  const startedAt = Date.now();
  const colour = process.stdout.isTTY && process.env.NO_COLOR === undefined ? { FORCE_COLOR: '1' } : {};
  const child = spawn(process.execPath, [vitest, 'run', ...laneArgs], { cwd: root, env: { ...process.env, ...colour }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  // Before vitest starts its first worker: every process of the lane inherits the priority.
  const niceness = lane === undefined ? undefined : NICENESS[lane];
  if (niceness !== undefined && child.pid !== undefined) os.setPriority(child.pid, niceness);
  // Whole lines only, so the two lanes' lines never run into each other.
  let isEmpty = false;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.includes('No test files found')) isEmpty = true;
    process.stdout.write(`${line}\n`);
  });
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${line}\n`));
  return new Promise((resolve) => {
    // 'close', not 'exit': by then the last of its output has been passed on.
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ lane: lane ?? 'vitest', code: code ?? (signal ? 1 : 0), seconds: (Date.now() - startedAt) / 1000, isEmpty });
    });
  });
}

// Ctrl-C reaches the lanes from the terminal themselves (one process group): this process only waits for
// them to end. A SIGTERM is for this process alone: it is passed to each lane by its pid.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => {
  for (const child of children) if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
});

const startedAt = Date.now();
const isOneProject = args.some((arg) => arg === '--project' || arg.startsWith('--project='));
const results = await Promise.all(isOneProject ? [runLane(undefined)] : LANES.map((lane) => runLane(lane)));
const wall = (Date.now() - startedAt) / 1000;
for (const r of results) console.log(`lane ${r.lane}: ${r.isEmpty ? 'no files' : r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds.toFixed(0)} s`);
console.log(`npm test: ${wall.toFixed(0)} s wall`);
// A file name that matched nothing in either lane is a mistake, not a pass.
const isNothingRun = !isOneProject && results.every((r) => r.isEmpty);
if (isNothingRun) console.error('npm test: no test file matched in any lane');
process.exitCode = results.every((r) => r.code === 0) && !isNothingRun ? 0 : 1;
