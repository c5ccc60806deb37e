import type { CaptureMode } from '../capture/clip-capture.js';
import type { FiledOn } from '../store/settings-schema.js';
import type { Triggers } from '../triggers/trigger.js';

/** What a moment came to: the filed clip and everyone who called it. */
export interface ClipOutcome {
  readonly clipId: string;
  readonly path: string;
  readonly fileName: string;
  readonly streamer: string;
  /** The first trigger names the file; the others joined it. */
  readonly triggers: Triggers;
  readonly savedAt: Date;
  /** What the capture said about the footage (e.g. shorter than asked); the alert shows it. */
  readonly captureNote?: string;
  /** Saved before a crash or kill and finished by the next start; its alert says so. */
  readonly isRecovered?: boolean;
  /** Which capture made it (absent for a recovered clip: unknown). */
  readonly capture?: CaptureMode;
  /** The stream capture's window around the trigger, in seconds (Extend cuts 10 s more each side). */
  readonly window?: { readonly beforeSeconds: number; readonly afterSeconds: number };
  /** Stream capture: wall-clock time of the clip's first frame, and its length (see CapturedClip). */
  readonly startedAt?: Date;
  readonly durationSeconds?: number;
  /** CLUSTER=true: the node that filed it (its file is on that machine); absent when the bot runs alone. */
  readonly filedOn?: FiledOn;
}
