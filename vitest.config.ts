import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Integration tests start real OBS instances (software-rendered), ffmpeg encodes and local peers.
    // Run files one at a time: on two shared cores, parallel files starved OBS of CPU and made its
    // timing erratic, and the whole suite still takes only a couple of minutes serially.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
