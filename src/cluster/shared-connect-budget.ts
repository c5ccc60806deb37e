/**
 * One connect budget for the whole cluster, so the signing service never answers 429 however many nodes
 * connect: every connect passes, after its node's own budget, one BullMQ queue per budget window
 * (a minute, an hour…), each worked on every node with BullMQ's global rate limiter set to that window's
 * limit. The limiter lives in the shared database, so all nodes together get at most `limit` grants per window. The
 * limits follow what the signing service says (the monitor's budget), re-read at each connect.
 */
import type { Job, Queue, QueueEvents, RateLimiterOptions, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { CLUSTER_DEFAULTS } from './defaults.js';
import type { ClusterEngine } from './engine.js';

export interface BudgetWindowLimit {
  readonly limit: number;
  readonly windowMs: number;
}

interface Lane {
  readonly queue: Queue;
  readonly worker: Worker;
  readonly events: QueueEvents;
  /** The worker's own limiter object: BullMQ reads it at every fetch, so a new limit applies at once. */
  readonly limiter: { max: number; duration: number };
}

export class SharedConnectBudget {
  private readonly lanes = new Map<number, Promise<Lane>>();
  private isClosed = false;

  constructor(
    private readonly options: {
      readonly engine: ClusterEngine;
      readonly nodeId: string;
      /** The budget's windows as the signing service reports them (the monitor's). */
      readonly windows: () => readonly BudgetWindowLimit[];
      readonly log: Logger;
    },
  ) {}

  /** Resolves once every window of the cluster's budget grants this connect. */
  async pass(signal: AbortSignal): Promise<void> {
    for (const window of this.options.windows()) {
      if (signal.aborted) throw signal.reason;
      const lane = await this.lane(window);
      lane.limiter.max = window.limit;
      const job = await lane.queue.add('connect', { node: this.options.nodeId }, { removeOnComplete: { age: 3_600 }, removeOnFail: true });
      await abortable(granted(job, lane.events), signal);
    }
  }

  async close(): Promise<void> {
    this.isClosed = true;
    for (const opened of this.lanes.values()) {
      const lane = await opened.catch(() => undefined);
      if (!lane) continue;
      await lane.worker.close();
      await lane.events.close();
      await lane.queue.close();
    }
  }

  /** One lane per window, made once (connects racing for a new window share the one being made). */
  private lane(window: BudgetWindowLimit): Promise<Lane> {
    let lane = this.lanes.get(window.windowMs);
    if (!lane) {
      if (this.isClosed) return Promise.reject(new Error('the cluster connect budget is closed'));
      lane = this.openLane(window);
      this.lanes.set(window.windowMs, lane);
    }
    return lane;
  }

  private async openLane(window: BudgetWindowLimit): Promise<Lane> {
    const { engine, log } = this.options;
    const name = `connect-${window.windowMs}`;
    // BullMQ's window starts at its first grant, the signing service's at the request that follows it: a
    // little longer than the window keeps the two from overlapping at a window's edge.
    const limiter: RateLimiterOptions = { max: window.limit, duration: window.windowMs + CLUSTER_DEFAULTS.connectWindowMarginMs };
    const lane: Lane = {
      queue: engine.queue(name),
      // Granting is all the work: the limiter decides when.
      worker: engine.worker(name, async () => 'granted', { limiter, name: this.options.nodeId }),
      events: engine.events(name),
      limiter,
    };
    const onError = (err: Error) => log.warn({ err: err.message, budget: name }, 'cluster connect budget trouble');
    lane.queue.on('error', onError);
    lane.worker.on('error', onError);
    lane.events.on('error', onError);
    await lane.events.waitUntilReady();
    return lane;
  }
}

/**
 * The grant's completion event, or its state read every few seconds should the event not arrive (an
 * events connection that dropped): a connect never waits forever on a grant already given.
 */
async function granted(job: Job, events: QueueEvents): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const polled = new Promise<void>((resolve) => {
    timer = setInterval(() => {
      void job.isCompleted().then((isDone) => isDone && resolve(), () => undefined);
    }, 2_000);
  });
  try {
    await Promise.race([job.waitUntilFinished(events), polled]);
  } finally {
    clearInterval(timer);
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
