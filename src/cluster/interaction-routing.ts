/**
 * Which node must answer an interaction the gateway node received (CLUSTER=true), and getting it there:
 * a /clip goes to the node watching the live (the holder of its BullMQ watch job: the buffer is there), a
 * review button to the node that filed the clip (its files are in that node's clips folder; a node that
 * restarted has a new id but the same host and folder, and is found by those). The work itself travels
 * as a job on that node's own queue (node-tasks.ts). When that node is gone or does not answer, the member
 * gets a short answer and nothing was done; alone (no cluster) none of this exists and all runs locally.
 */
import type { InteractionRouting, RouteTarget, RoutedWork } from '../discord/routed.js';
import type { FiledOn } from '../store/settings-schema.js';
import { UserError } from '../util/errors.js';
import type { NodeRecord } from './node-registry.js';
import type { NodeTasks, TaskOutcome } from './node-tasks.js';

export class ClusterRouting implements InteractionRouting {
  constructor(
    private readonly deps: {
      readonly nodeId: string;
      readonly tasks: Pick<NodeTasks, 'send'>;
      /** The nodes alive now (their heartbeat records). */
      readonly nodes: () => Promise<NodeRecord[]>;
      /** Who holds a live's watch job (held-jobs.ts). */
      readonly holderOf: (live: string) => Promise<{ readonly node: string } | 'waiting' | 'none'>;
    },
  ) {}

  async forward(target: RouteTarget, work: RoutedWork): Promise<'here' | 'answered'> {
    const nodes = await this.deps.nodes();
    const node = 'live' in target ? await this.liveNode(target.live, nodes) : this.filer(target.filedOn, target.streamer, nodes);
    if (node === 'here') return 'here';
    const isAlive = async () => (await this.deps.nodes()).some((n) => n.id === node.id);
    const outcome = await this.deps.tasks.send(node.id, work, isAlive);
    if (outcome === 'answered') return 'answered';
    throw this.failure(outcome, node.id, target);
  }

  /** The node watching the live; `here` for this node, or for a stream no node watches (nothing to route). */
  private async liveNode(live: string, nodes: readonly NodeRecord[]): Promise<'here' | { readonly id: string }> {
    const holder = await this.deps.holderOf(live);
    if (holder === 'none' || (holder !== 'waiting' && holder.node === this.deps.nodeId)) return 'here';
    if (holder === 'waiting') {
      throw new UserError('TIMEOUT', `@${live} is being handed to another node right now; try again in a few seconds. Nothing was saved.`);
    }
    if (!nodes.some((n) => n.id === holder.node)) throw this.failure('not-taken', holder.node, { live });
    return { id: holder.node };
  }

  /** The node that filed the clip: the same node, or a node started since on the same host and clips folder. */
  private filer(filedOn: FiledOn, streamer: string, nodes: readonly NodeRecord[]): 'here' | { readonly id: string } {
    const node = nodes.find((n) => n.id === filedOn.node) ?? nodes.find((n) => n.host === filedOn.host && n.clipsDir === filedOn.clipsDir);
    if (!node) throw this.failure('not-taken', filedOn.node, { filedOn, streamer });
    return node.id === this.deps.nodeId ? 'here' : node;
  }

  private failure(outcome: Exclude<TaskOutcome, 'answered'>, nodeId: string, target: RouteTarget): UserError {
    const whose = 'live' in target ? `@${target.live} is watched by node \`${nodeId}\`` : `@${target.streamer}'s clip is on node \`${nodeId}\` (${target.filedOn.host}, \`${target.filedOn.clipsDir}\`)`;
    if (outcome === 'not-taken') {
      const after = 'live' in target ? 'try again in a moment (the lives of a node that is gone move to another within about 15 s)' : 'try again when it is back';
      return new UserError('TIMEOUT', `${whose}, which is not answering; ${after}. Nothing was changed.`);
    }
    if (outcome === 'lost') {
      return new UserError('TIMEOUT', `${whose}, which stopped answering while it worked on this, so it may or may not be done; look again once that node is back.`);
    }
    // It did the work but could not reach Discord with the answer: the gateway's answer says so.
    return new UserError('INTERNAL', `${whose}, which did this but could not reach Discord to answer; look again in a moment.`);
  }
}
