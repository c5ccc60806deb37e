/**
 * Who is in the cluster: each node rewrites its record in one row of the bot's own store every heartbeat
 * (a compare-and-set, so nodes never lose each other's records), and a record not rewritten for the time to
 * live is a node gone (SIGKILL, power cut, cable): it is left out and dropped at the next write. This works
 * on every engine the store has (Redis, Postgres). The nodes' clocks must agree within a few seconds (NTP),
 * as each compares the others' heartbeat times with its own. This is information only (the lives' shares
 * and /status); who holds a live or the gateway is BullMQ's job lock.
 */
import type { NodeRecord } from '../discord/cluster-view.js';
import type { StoreRows } from '../store/bot-store.js';

export type { NodeRecord };

/** The store row holding every node's record, by id. */
export const NODES_ROW = 'cluster:nodes';

export class NodeRegistry {
  constructor(
    /** The store's rows (a getter: the store opens after the node). */
    private readonly rows: () => StoreRows,
    private readonly ttlMs: number,
  ) {}

  async beat(record: NodeRecord): Promise<void> {
    await this.rows().modify(NODES_ROW, (current) => ({ ...this.alive(current), [record.id]: record }));
  }

  async leave(id: string): Promise<void> {
    await this.rows().modify(NODES_ROW, (current) => {
      const { [id]: _gone, ...others } = this.alive(current);
      return others;
    });
  }

  /** Every node whose record is fresh, by id. */
  async nodes(): Promise<NodeRecord[]> {
    return Object.values(this.alive(await this.rows().get(NODES_ROW))).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The records rewritten within the time to live (a row that does not read as records counts as none). */
  private alive(row: unknown): Record<string, NodeRecord> {
    const alive: Record<string, NodeRecord> = {};
    if (typeof row !== 'object' || row === null) return alive;
    const oldest = Date.now() - this.ttlMs;
    for (const [id, record] of Object.entries(row as Record<string, Partial<NodeRecord>>)) {
      if (typeof record?.seenAt === 'string' && Date.parse(record.seenAt) >= oldest) alive[id] = record as NodeRecord;
    }
    return alive;
  }
}
