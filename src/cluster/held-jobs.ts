/**
 * A BullMQ queue whose jobs are held, not run: a node takes a job (a live to watch, the Discord gateway)
 * and its processor keeps running for as long as the node does that work. BullMQ renews the job's lock
 * while the node's worker lives; when the node dies the lock lapses, the next stalled check (any node's)
 * moves the job back to wait, and another node takes it. So who holds what is BullMQ's lock, never a
 * lease of ours. A job ends when the work is no longer wanted (completed, removed), is handed on (moved
 * back to wait, for another node), or is refused by a node at its share (delayed a moment).
 */
import { DelayedError, WaitingError, type Job, type Queue, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import { CLUSTER_DEFAULTS, type ClusterTimings } from './defaults.js';
import type { ClusterEngine } from './engine.js';

/** Why a held job ends: nobody wants it, hand it on (another node, or this one later), or its lock was lost. */
export type ReleaseReason = 'unwanted' | 'handover' | 'lock-lost';

export interface HeldWork<T> {
  /** Whether this node takes one more job now (its share); a refused job waits a moment for any node. */
  mayTake(): boolean;
  /** Starts the work; false when it is no longer wanted (the job completes and is removed). */
  begin(key: string, data: T): Promise<boolean>;
  /** Stops the work (before the job is handed on or completed). */
  end(key: string, data: T, reason: ReleaseReason): Promise<void>;
}

interface Holding {
  readonly release: (reason: ReleaseReason) => void;
  /** Renews the job's lock with this holding's own token: false when the lock is not ours any more. */
  readonly renew: () => Promise<boolean>;
  /** Settles once the work has ended and the job was handed on or completed. */
  readonly done: Promise<void>;
}

export class HeldJobs<T extends object> {
  private readonly queue: Queue<T>;
  private worker: Worker<T> | undefined;
  private readonly holdings = new Map<string, Holding>();

  constructor(
    private readonly options: {
      readonly name: string;
      readonly engine: ClusterEngine;
      readonly nodeId: string;
      /** At most this many jobs at once (the share check in `mayTake` is the real limit). */
      readonly concurrency: number;
      readonly timings: ClusterTimings;
      readonly work: HeldWork<T>;
      readonly log: Logger;
    },
  ) {
    this.queue = options.engine.queue<T>(options.name);
    this.queue.on('error', (err) => options.log.warn({ err: err.message }, 'queue connection trouble'));
  }

  /** The job for `key` exists, waiting or held somewhere (adding is a no-op when it does: the id is the key). */
  async ensure(key: string, data: T): Promise<void> {
    // The queue's generic job-name type is too clever for a plain string; every job here is named 'hold'.
    await (this.queue as unknown as Queue).add('hold', data, { jobId: key, removeOnComplete: true, removeOnFail: true });
  }

  /** Jobs of this queue anywhere in the cluster: held, waiting or refused for a moment. */
  async total(): Promise<number> {
    const counts = await this.queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  /**
   * Which node holds `key` now (its worker's name, the node id, is on the job while BullMQ's lock is
   * its): `waiting` while no node does (being handed on), `none` when there is no such job.
   */
  async holder(key: string): Promise<{ readonly node: string } | 'waiting' | 'none'> {
    const job = await this.queue.getJob(key);
    if (!job) return 'none';
    const state = await job.getState();
    if (state === 'unknown') return 'none';
    return state === 'active' && job.processedBy ? { node: job.processedBy } : 'waiting';
  }

  held(): string[] {
    return [...this.holdings.keys()];
  }

  isHeld(key: string): boolean {
    return this.holdings.has(key);
  }

  /** Ends the work on `key` here; the job completes (`unwanted`) or goes back to wait for any node (`handover`). */
  release(key: string, reason: ReleaseReason): void {
    this.holdings.get(key)?.release(reason);
  }

  start(): void {
    const { timings, log } = this.options;
    this.worker = this.options.engine.worker<T>(this.options.name, (job, token) => this.hold(job, token), {
      name: this.options.nodeId,
      concurrency: this.options.concurrency,
      lockDuration: timings.lockDurationMs,
      stalledInterval: timings.stalledIntervalMs,
      maxStalledCount: CLUSTER_DEFAULTS.maxStalledCount,
    });
    // A lock that could not be renewed (the database unreachable longer than the lock) may be another node's
    // by now: stop the work here so a live is never watched twice.
    this.worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) void this.onLockLost(id);
    });
    this.worker.on('error', (err) => log.warn({ err: err.message }, 'worker trouble'));
  }

  /** Hands every held job on (to the other nodes, at once rather than after a stall) and closes. */
  async stop(): Promise<void> {
    if (this.worker) await this.worker.pause(true);
    const done = [...this.holdings.values()].map((h) => h.done);
    for (const holding of this.holdings.values()) holding.release('handover');
    await Promise.allSettled(done);
    await this.worker?.close();
    await this.queue.close();
  }

  /**
   * BullMQ renews locks in rounds, each with the tokens it tracked when the round began: a job refused or
   * handed on a moment ago and taken again here since can be reported for its old token (seen on
   * Postgres, whose rounds take longer). So the lock is asked for with this holding's own token first.
   */
  private async onLockLost(key: string): Promise<void> {
    const holding = this.holdings.get(key);
    if (!holding || (await holding.renew().catch(() => false))) return;
    if (this.holdings.get(key) !== holding) return;
    this.options.log.warn({ key }, 'lost the lock on a held job; stopping it here');
    holding.release('lock-lost');
  }

  private async hold(job: Job<T>, token: string | undefined): Promise<string> {
    const key = job.id ?? '';
    const { work, log, timings } = this.options;
    if (this.holdings.has(key) || !work.mayTake()) {
      await job.moveToDelayed(Date.now() + timings.refuseDelayMs, token);
      throw new DelayedError();
    }
    let release!: (reason: ReleaseReason) => void;
    const released = new Promise<ReleaseReason>((resolve) => (release = resolve));
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const renew = async () => token !== undefined && (await job.extendLock(token, timings.lockDurationMs)) === 1;
    this.holdings.set(key, { release, renew, done });
    try {
      let isWanted = false;
      try {
        isWanted = await work.begin(key, job.data);
      } catch (err) {
        // Could not start here (Discord refused the login, the store is away): another node, or this one
        // a little later, tries again.
        log.warn({ key, err: err instanceof Error ? err.message : String(err) }, 'could not start held work; handing it on');
        await work.end(key, job.data, 'handover');
        await job.moveToDelayed(Date.now() + timings.refuseDelayMs * 5, token);
        throw new DelayedError();
      }
      if (!isWanted) return 'unwanted';
      const reason = await released;
      await work.end(key, job.data, reason);
      if (reason === 'unwanted') return 'unwanted';
      // Lost: the job is not ours to move any more; BullMQ refuses whatever we would do with it.
      if (reason === 'lock-lost') throw new Error('lock lost');
      await job.moveToWait(token);
      throw new WaitingError();
    } finally {
      this.holdings.delete(key);
      finish();
    }
  }
}
