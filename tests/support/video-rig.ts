import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Footage } from '../../src/capture/clip-capture.js';
import type { StreamBuffers } from '../../src/capture/stream/stream-buffers.js';
import type { FakeFlvServer } from '../fakes/flv-server.js';
import type { FakeTikTok } from '../fakes/tiktok-server.js';

/**
 * Ends what a stream-capture test started, in the order that leaves nothing behind: the buffers' ffmpegs
 * first (they read from the FLV server), then the local servers, then the test's folder. Any part may be
 * missing when its beforeAll failed half-way.
 */
export async function endVideoRig(rig: { buffers?: StreamBuffers; flv?: FakeFlvServer; tiktok?: FakeTikTok; root?: string }): Promise<void> {
  await rig.buffers?.stopAll();
  await rig.flv?.close();
  await rig.tiktok?.close();
  if (rig.root) await rm(rig.root, { recursive: true, force: true });
}

/** Files footage as the clip filer would: under `clipsDir`, by name. */
export function fileByName(clipsDir: string, name: string): (footage: Footage) => Promise<string> {
  return async (footage) => {
    const target = join(clipsDir, `${name}.mp4`);
    await mkdir(clipsDir, { recursive: true });
    await copyFile(footage.path, target);
    return target;
  };
}
