import type { ReplayBuffer } from './replay-buffer.js';
import type { CaptureRequest, CapturedClip, ClipCapture, Footage } from '../capture/clip-capture.js';
import { CAPTURE_DEFAULTS } from '../capture/defaults.js';

interface Member {
  readonly file: (footage: Footage) => Promise<string>;
  readonly resolve: (clip: CapturedClip) => void;
  readonly reject: (err: unknown) => void;
}

/** One OBS save and the moments (of any streams) that share its footage. */
interface SharedSave {
  readonly members: Member[];
  /** Once OBS has written the file, no one else may join: the footage ends before their trigger. */
  isClosed: boolean;
}

/**
 * `obs` capture: OBS's replay buffer. OBS records one picture for every stream, and saves asked within
 * ~150 ms of each other merge into one file anyway, so moments of different streams that ask while a save
 * is waiting or running share that save. Each moment still gets a file of its own, filed under its own
 * streamer and name: the first moment moves OBS's file, the others link or copy the first's clip (OBS
 * may reuse its file name for the next save, so nothing may keep pointing at it).
 */
export class ObsCapture implements ClipCapture {
  readonly mode = 'obs' as const;
  private open: SharedSave | undefined;

  constructor(
    private readonly options: {
      readonly replayBuffer: ReplayBuffer;
      /** Fixed merge window (tests); by default the replay buffer's length as OBS reports it. */
      readonly mergeWindowMs?: number;
    },
  ) {}

  capture(_request: CaptureRequest, file: (footage: Footage) => Promise<string>): Promise<CapturedClip> {
    return new Promise<CapturedClip>((resolve, reject) => {
      const member: Member = { file, resolve, reject };
      if (this.open && !this.open.isClosed) {
        this.open.members.push(member);
        return;
      }
      const save: SharedSave = { members: [member], isClosed: false };
      this.open = save;
      this.options.replayBuffer
        .save(async (replay) => {
          save.isClosed = true;
          await fileForEveryone(save.members, { path: replay.path, savedAt: replay.savedAt, isShared: false });
        })
        .catch((err: unknown) => {
          save.isClosed = true;
          // Members already settled by fileForEveryone ignore this; the others learn why nothing was saved.
          for (const m of save.members) m.reject(err);
        })
        .finally(() => {
          if (this.open === save) this.open = undefined;
        });
    });
  }

  mergeWindowMs(): number {
    if (this.options.mergeWindowMs !== undefined) return this.options.mergeWindowMs;
    const seconds = this.options.replayBuffer.bufferSeconds();
    return seconds === undefined ? CAPTURE_DEFAULTS.obs.mergeWindowMs : seconds * 1000;
  }

  isFailing(): boolean {
    return this.options.replayBuffer.status().connection !== 'connected';
  }
}

/**
 * Files the footage for each member in turn. The first to succeed moves OBS's file; later members link or
 * copy that filed clip. A member whose filing fails does not stop the others: while no one has filed yet,
 * OBS's file is still where OBS wrote it (the filer never loses its source), so the next one tries it.
 */
async function fileForEveryone(members: readonly Member[], footage: Footage): Promise<void> {
  let source = footage;
  for (const member of members) {
    try {
      const filed = await member.file(source);
      member.resolve({ path: filed, savedAt: footage.savedAt });
      if (!source.isShared) source = { path: filed, savedAt: footage.savedAt, isShared: true };
    } catch (err) {
      member.reject(err);
    }
  }
}
