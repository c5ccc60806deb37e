/**
 * Work for one node in particular (CLUSTER=true): a /clip or a review button that must run where the
 * live's buffer or the clip's files are. Each node works its own BullMQ queue, `node-{node id}`; the
 * gateway node adds the interaction's job there and waits for it (BullMQ's completion event). Each job
 * runs at most once: its id is the interaction's (added twice, it is one job), one attempt, and a stall
 * fails it rather than running it again (maxStalledCount 0). A job its node has not taken within a few
 * seconds is taken back (removed while still waiting; BullMQ refuses to remove a job a worker holds), so
 * a node that comes back later finds nothing to do twice.
 */
import type { Job, Queue, QueueEvents, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { RoutedWork } from '../discord/routed.js';
import { errorMessage } from '../util/text.js';
import { sleep } from '../util/sleep.js';
import type { RoutingTimings } from './defaults.js';
import type { ClusterEngine } from './engine.js';

/**
 * How a task sent to a node ended: `answered` (the node answered the interaction), `unanswered` (it ran
 * but could not reach Discord), `not-taken` (nobody took it in time; taken back, so it never runs),
 * `lost` (the node stopped while it worked on it: done or not, nobody can say).
 */
export type TaskOutcome = 'answered' | 'unanswered' | 'not-taken' | 'lost';

interface Lane {
  readonly queue: Queue<RoutedWork>;
  readonly events: Promise<QueueEvents>;
}

export const nodeQueueName = (nodeId: string): string => `node-${nodeId}`;

export class NodeTasks {
  private worker: Worker<RoutedWork> | undefined;
  /** The queue of each node this one sent work to, with its completion events. */
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly options: {
      readonly engine: Pick<ClusterEngine, 'queue' | 'worker' | 'events'>;
      readonly nodeId: string;
      /** Carries out the work and answers the interaction; false when no answer could be sent. */
      readonly run: (work: RoutedWork) => Promise<boolean>;
      readonly timings: RoutingTimings & { readonly lockDurationMs: number };
      readonly log: Logger;
    },
  ) {}

  start(): void {
    const { engine, nodeId, timings, log } = this.options;
    this.worker = engine.worker<RoutedWork>(
      nodeQueueName(nodeId),
      async (job) => {
        // Older than the wait for it: its gateway has answered the interaction already.
        if (Date.now() - job.timestamp > timings.answerMs) return false;
        return this.options.run(job.data);
      },
      { name: nodeId, concurrency: 8, lockDuration: timings.lockDurationMs, maxStalledCount: 0 },
    );
    this.worker.on('error', (err) => log.warn({ err: err.message }, 'node task worker trouble'));
  }

  /** Sends the work to `nodeId`'s queue and waits until it is answered, taken back, or its node is gone. */
  async send(nodeId: string, work: RoutedWork, isAlive: () => Promise<boolean>): Promise<TaskOutcome> {
    const lane = this.lane(nodeId);
    const events = await lane.events;
    const job = await lane.queue.add('interaction', work, {
      jobId: work.interaction.id,
      attempts: 1,
      removeOnComplete: { age: 3_600 },
      removeOnFail: { age: 3_600 },
    });
    const stop = new AbortController();
    try {
      return await Promise.race([
        job.waitUntilFinished(events, this.options.timings.answerMs).then(
          (answered: unknown): TaskOutcome => (answered === true ? 'answered' : 'unanswered'),
          (): TaskOutcome => 'lost',
        ),
        this.watch(job, lane.queue, isAlive, stop.signal),
      ]);
    } finally {
      stop.abort();
    }
  }

  /** Forgets the lanes of nodes no longer in the cluster (their event streams hold a connection each). */
  async forget(aliveIds: ReadonlySet<string>): Promise<void> {
    for (const [nodeId, lane] of this.lanes) {
      if (aliveIds.has(nodeId)) continue;
      this.lanes.delete(nodeId);
      await this.closeLane(lane);
    }
  }

  async close(): Promise<void> {
    // Waits for the tasks running here: an interaction half answered is answered before the node goes.
    await this.worker?.close();
    for (const lane of this.lanes.values()) await this.closeLane(lane);
    this.lanes.clear();
  }

  /**
   * Every second: a job still waiting after `takeMs` is taken back; a job held by a node that left the
   * cluster is lost; a job that finished without its event arriving (an events connection that dropped)
   * is read from its state. Settles only with one of those; the completion event usually wins first.
   */
  private async watch(job: Job<RoutedWork>, queue: Queue<RoutedWork>, isAlive: () => Promise<boolean>, signal: AbortSignal): Promise<TaskOutcome> {
    const { timings, log } = this.options;
    const sentAt = Date.now();
    for (;;) {
      await sleep(timings.checkMs, signal).catch(() => undefined);
      if (signal.aborted) return new Promise<never>(() => undefined);
      try {
        const state = await job.getState();
        if (state === 'completed') return (await queue.getJob(job.id!))?.returnvalue === true ? 'answered' : 'unanswered';
        if (state === 'failed' || state === 'unknown') return 'lost';
        if (state === 'active') {
          if (!(await isAlive())) return 'lost';
        } else if (Date.now() - sentAt >= timings.takeMs && (await isTakenBack(job))) {
          return 'not-taken';
        }
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'could not read a node task');
      }
    }
  }

  private lane(nodeId: string): Lane {
    let lane = this.lanes.get(nodeId);
    if (!lane) {
      const name = nodeQueueName(nodeId);
      const events = this.options.engine.events(name);
      events.on('error', (err) => this.options.log.warn({ err: err.message }, 'node task events trouble'));
      lane = { queue: this.options.engine.queue<RoutedWork>(name), events: events.waitUntilReady().then(() => events) };
      lane.queue.on('error', (err) => this.options.log.warn({ err: err.message }, 'node task queue trouble'));
      this.lanes.set(nodeId, lane);
    }
    return lane;
  }

  private async closeLane(lane: Lane): Promise<void> {
    await lane.events.then((events) => events.close(), () => undefined);
    await lane.queue.close();
  }
}

/** Removes a job nobody took; false when a worker holds it by now (BullMQ refuses to remove a locked job). */
async function isTakenBack(job: Job): Promise<boolean> {
  try {
    await job.remove();
    return true;
  } catch {
    return false;
  }
}
