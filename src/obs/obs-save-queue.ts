/**
 * One save at a time, and the matching of a save to its `ReplayBufferSaved` event.
 *
 * `SaveReplayBuffer` answers at once; the file path only arrives later in the `ReplayBufferSaved` event
 * (~0.2 s with x264 tune=zerolatency, ~0.75 s without). Two saves close together merge into one event, or
 * produce two events with the SAME path (the second file overwrites the first). Hence one save at a time,
 * and the next one only after the caller moved the file away.
 */
import { AppError } from '../util/errors.js';

/** Runs jobs one after another, in the order they were queued. */
export class SaveQueue {
  /** Resolves when the last queued save finished; never rejects. */
  private tail: Promise<void> = Promise.resolve();

  /**
   * Runs `job` once every job queued before it has settled. If `signal` aborts while this one is still
   * waiting its turn, it rejects with ABORTED and `job` never runs.
   */
  enqueue<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    const run = async (): Promise<T> => {
      try {
        await waitForTurn(previous, signal);
        return await job();
      } finally {
        // Even when this save was aborted while queued, the next one waits for the one before us.
        void previous.then(release);
      }
    };
    return run();
  }
}

export interface SavedWaiter {
  readonly promise: Promise<string>;
  readonly resolve: (path: string) => void;
}

/** The one save (if any) waiting for OBS to report its file. */
export class SavedEventSlot {
  private waiter: SavedWaiter | undefined;

  /** Call before sending SaveReplayBuffer, so the event cannot slip past. */
  expect(): SavedWaiter {
    let resolve!: (path: string) => void;
    const promise = new Promise<string>((r) => {
      resolve = r;
    });
    const waiter = { promise, resolve };
    this.waiter = waiter;
    return waiter;
  }

  /** Nobody waits any more (the save request itself failed). */
  clear(): void {
    this.waiter = undefined;
  }

  /** `waiter` stops waiting, unless a newer save took the slot meanwhile. */
  release(waiter: SavedWaiter): void {
    if (this.waiter === waiter) this.waiter = undefined;
  }

  /** Hands `path` to the waiting save. False when no save was waiting. */
  deliver(path: string): boolean {
    const waiter = this.waiter;
    if (waiter === undefined) return false;
    this.waiter = undefined;
    waiter.resolve(path);
    return true;
  }
}

export function abortedError(signal: AbortSignal): AppError {
  return new AppError('ABORTED', 'the save was cancelled before it started', { cause: signal.reason });
}

async function waitForTurn(previous: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) {
    await previous;
    return;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([previous, aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}
