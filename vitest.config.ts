import { defineConfig } from 'vitest/config';

/**
 * The waiting lane: files whose time is mostly spent WAITING, not computing: sliding connect windows (a
 * minute is a minute), BullMQ's lock and stalled-job checks in a cluster, SIGKILLed processes started
 * again, real-time chat histories. `npm test` (tests/run-lanes.ts) runs them in a second vitest process
 * beside the serial lane, one file at a time in each lane.
 *
 * Every other file is in the serial lane, so a new file lands there unless it is listed here; every
 * cluster-*.test.ts is here by its name. Not cluster.test.ts: its 60 lives on four nodes keep about a core
 * busy, and run at the waiting lane's low priority beside OBS and video its last case (alerts queued
 * across a SIGKILL of the gateway node) timed out twice; in the serial lane it runs beside waiting files. A file belongs here when it starts no OBS, encodes no video
 * beyond the fake lives' small real-time streams, and spends most of its run asleep (its CPU time, e.g.
 * `/usr/bin/time npx vitest run <file>`, well under half its wall time).
 */
export const WAITING_LANE = [
  'tests/integration/cluster-*.test.ts',
  'tests/integration/connect-window.test.ts',
  'tests/integration/connect-budget.test.ts',
  'tests/integration/gift-hype-chat-rate.test.ts',
  'tests/integration/review-sigkill.test.ts',
  'tests/integration/silent-rooms.test.ts',
  'tests/integration/unclear-checks.test.ts',
  'tests/integration/storage-outage.test.ts',
  'tests/integration/storage-backends.test.ts',
];

export const LANES = ['serial', 'waiting'] as const;

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'serial',
          include: ['tests/**/*.test.ts'],
          exclude: WAITING_LANE,
          // Real OBS instances (software-rendered), ffmpeg encodes and fake lives encoding in real time:
          // one file at a time, since on two shared cores parallel files starved OBS of CPU and made its
          // timing erratic.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'waiting',
          include: WAITING_LANE,
          // One at a time too: the lane's files run beside the serial lane's, never beside each other.
          fileParallelism: false,
        },
      },
    ],
  },
});
