import type { Logger } from 'pino';
import { fileClip } from './clip-filer.js';
import { ClipJournal } from './clip-journal.js';
import { ClipService, type ClipServiceOptions } from './clip-service.js';

/**
 * The moment and the clip: one moment per stream at a time, filed under the streamer's folder, with a
 * journal so a crash mid-clip is finished at the next start. The journal accepts footage only from the
 * folders captures write to (the clips folder, the stream buffers, OBS's recording folder).
 */
export function createClipService(
  config: { readonly clipsDir: string; readonly streamBufferDir: string },
  deps: Pick<ClipServiceOptions, 'captures' | 'reporter' | 'events' | 'policyFor' | 'coalesceWindowMs' | 'filedOn'> & {
    /** OBS's recording folder once OBS told it, else undefined. */
    readonly recordDirectory: () => string | undefined;
    readonly log: Logger;
  },
): ClipService {
  const { recordDirectory, log, coalesceWindowMs, ...rest } = deps;
  return new ClipService({
    ...rest,
    fileClip,
    clipsDir: config.clipsDir,
    journal: new ClipJournal(config.clipsDir, log.child({ component: 'clip-journal' }), {
      allowedRoots: () => [config.clipsDir, config.streamBufferDir, recordDirectory()].filter((dir) => dir !== undefined),
    }),
    log: log.child({ component: 'clips' }),
    ...(coalesceWindowMs !== undefined ? { coalesceWindowMs } : {}),
  });
}
