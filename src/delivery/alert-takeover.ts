/**
 * CLUSTER=true: an alert queued on a node that died is not left waiting for that node. Each node delivers
 * the alerts of its own clips (the file is on its disk). When the node delivering an alert has been gone
 * from the node registry for `takeoverAfterMs` (as this node sees it, every `takeoverCheckMs`), this node
 * takes the alert over by compare-and-set on its outbox row (of every node trying, exactly one wins) and
 * posts it without the video, saying where the video is. The filing node, once back, finds its alert
 * posted and adds the video to that message (an edit by message id), never a second message. The same
 * nonce on every post of one alert keeps a node that was only cut off for a while (its post racing the
 * taker's) from doubling it. The same look picks up a highlight (or credit edit) of this node's clip that
 * another node stored (the gateway node answered the Keep): only this node has the file to post.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { EventLog } from '../events/event-log.js';
import { errorMessage } from '../util/text.js';
import { delivererOf, isSameHome, type FileHome, type OutboxEntry, type OutboxStore } from './outbox.js';

export class AlertTakeover {
  /** Per node (host + clips folder): since when this node has seen it absent from the registry. */
  private readonly absentSince = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private isLooking = false;

  constructor(
    private readonly deps: {
      /** This node. */
      readonly home: FileHome;
      /** The nodes in the registry now (alive). */
      readonly liveHomes: () => Promise<readonly FileHome[]>;
      readonly outbox: Pick<OutboxStore, 'pending' | 'takeOver'>;
      /**
       * Whether a highlight or credit edit is this node's (its clip is on this node's disk). Stored by
       * another node (the gateway answered the press), it is picked up here once it is older than a look.
       */
      readonly isOursToo: (entry: OutboxEntry) => boolean;
      readonly events: Pick<EventLog, 'add'>;
      readonly log: Logger;
      readonly timings: { readonly takeoverAfterMs: number; readonly takeoverCheckMs: number };
    },
  ) {}

  /** Starts looking; `worker` is the delivery worker of this node. */
  start(worker: { accept(entry: OutboxEntry): void; isHeld(id: string): boolean }): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.look(worker), this.deps.timings.takeoverCheckMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One look at the stored alerts this worker does not hold: its own to finish, a gone node's to take. */
  async look(worker: { accept(entry: OutboxEntry): void; isHeld(id: string): boolean }): Promise<void> {
    if (this.isLooking) return;
    this.isLooking = true;
    try {
      const alive = await this.deps.liveHomes();
      const now = Date.now();
      for (const key of this.absentSince.keys()) if (alive.some((home) => homeKey(home) === key)) this.absentSince.delete(key);
      for (const entry of await this.deps.outbox.pending()) {
        if (worker.isHeld(entry.id)) continue;
        const deliverer = delivererOf(entry);
        if (!deliverer) {
          // Not sooner than a look: one stored on this node is handed to the worker by the code storing it.
          if ((entry.kind === 'highlight' || entry.kind === 'credits') && now - Date.parse(entry.createdAt) > this.deps.timings.takeoverCheckMs && this.deps.isOursToo(entry)) worker.accept(entry);
          continue;
        }
        if (isSameHome(deliverer, this.deps.home)) {
          // Ours again: another node posted it without the video while we were away, and we add the video.
          if (entry.kind === 'alert' && entry.takenOver) worker.accept(entry);
          continue;
        }
        if (alive.some((home) => isSameHome(home, deliverer))) continue;
        const key = homeKey(deliverer);
        const since = this.absentSince.get(key) ?? now;
        this.absentSince.set(key, since);
        if (now - since < this.deps.timings.takeoverAfterMs) continue;
        const taken = await this.deps.outbox.takeOver(entry.id, deliverer, this.deps.home);
        if (!taken) continue;
        this.deps.log.info({ entry: entry.id, from: deliverer.host, clipsDir: deliverer.clipsDir }, 'took over an alert of a node that is gone');
        this.deps.events.add(entry.guildId, {
          kind: 'failure',
          stream: entry.streamer,
          text: `the node on ${deliverer.host} that filed a clip is gone: its alert is posted from here without the video, which follows when that node is back`,
        });
        worker.accept(taken);
      }
    } catch (err) {
      this.deps.log.warn({ err: errorMessage(err) }, 'could not look for alerts of nodes that are gone');
    } finally {
      this.isLooking = false;
    }
  }
}

function homeKey(home: FileHome): string {
  return JSON.stringify([home.host, path.resolve(home.clipsDir)]);
}
