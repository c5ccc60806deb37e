/**
 * Who is in the cluster: each node rewrites a small record in Redis every heartbeat, with a time to live,
 * so a node that dies (SIGKILL, power cut, cable) drops out on its own when the record expires. This is
 * information only (the lives' shares and /status); who holds a live or the gateway is BullMQ's job lock.
 */
import type { Redis } from 'ioredis';

/** A node as /status shows it. */
export interface NodeRecord {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** Holds the Discord gateway (commands, buttons). */
  readonly isGateway: boolean;
  /** The lives this node watches, with each one's state. */
  readonly lives: Readonly<Record<string, string>>;
  /** Stream-capture buffers running on this node (its capture load). */
  readonly buffers: number;
  readonly clipsDir: string;
  /** ISO time of its last heartbeat. */
  readonly seenAt: string;
}

export class NodeRegistry {
  private readonly keyPrefix: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly ttlMs: number,
  ) {
    this.keyPrefix = `${prefix}:cluster:node:`;
  }

  async beat(record: NodeRecord): Promise<void> {
    await this.redis.set(this.keyPrefix + record.id, JSON.stringify(record), 'PX', this.ttlMs);
  }

  async leave(id: string): Promise<void> {
    await this.redis.del(this.keyPrefix + id);
  }

  /** Every node whose record has not expired, by id. */
  async nodes(): Promise<NodeRecord[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${this.keyPrefix}*`, 'COUNT', 100);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const rows = await this.redis.mget(keys);
    return rows
      .flatMap((row) => {
        if (row === null) return [];
        try {
          return [JSON.parse(row) as NodeRecord];
        } catch {
          return [];
        }
      })
      .sort((a, b) => a.id.localeCompare(b.id));
  }
}
