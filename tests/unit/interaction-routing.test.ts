/**
 * Which node a routed interaction goes to (src/cluster/interaction-routing.ts): the node watching the live
 * for /clip, the node that filed the clip for a press (found again by host and clips folder after a
 * restart gave it a new id), this node when it is the one, and a short answer (nothing sent) when that
 * node is gone, the live is between nodes, or the node did not take the work.
 */
import { describe, expect, it } from 'vitest';
import { ClusterRouting } from '../../src/cluster/interaction-routing.js';
import type { NodeRecord } from '../../src/cluster/node-registry.js';
import type { TaskOutcome } from '../../src/cluster/node-tasks.js';
import type { RoutedWork } from '../../src/discord/routed.js';
import { UserError } from '../../src/util/errors.js';

const node = (id: string, host = 'pc1', clipsDir = `/clips/${id}`): NodeRecord => ({ id, host, pid: 1, isGateway: false, lives: {}, buffers: 0, clipsDir, seenAt: new Date().toISOString() });
const work: RoutedWork = { interaction: { id: '1', applicationId: '2', token: 't' }, task: { kind: 'command', name: 'clip', args: {} } };

function routing(options: { nodes: NodeRecord[]; holder?: Awaited<ReturnType<ConstructorParameters<typeof ClusterRouting>[0]['holderOf']>>; outcome?: TaskOutcome }) {
  const sent: string[] = [];
  const router = new ClusterRouting({
    nodeId: 'gw',
    nodes: async () => options.nodes,
    holderOf: async () => options.holder ?? 'none',
    tasks: {
      send: async (nodeId) => {
        sent.push(nodeId);
        return options.outcome ?? 'answered';
      },
    },
  });
  return { router, sent };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  return (err as UserError).message;
}

describe('routing an interaction to the node that must answer it', () => {
  it('sends a /clip to the node watching the live, and runs it here when this node watches it or no node does', async () => {
    const elsewhere = routing({ nodes: [node('gw'), node('b')], holder: { node: 'b' } });
    expect(await elsewhere.router.forward({ live: 'ana' }, work)).toBe('answered');
    expect(elsewhere.sent).toEqual(['b']);

    const here = routing({ nodes: [node('gw'), node('b')], holder: { node: 'gw' } });
    expect(await here.router.forward({ live: 'ana' }, work)).toBe('here');
    const nobody = routing({ nodes: [node('gw')], holder: 'none' });
    expect(await nobody.router.forward({ live: 'manual' }, work)).toBe('here');
    expect([...here.sent, ...nobody.sent]).toEqual([]);
  });

  it('answers, sending nothing, when the live is between nodes or its node is gone', async () => {
    const between = routing({ nodes: [node('gw')], holder: 'waiting' });
    expect(await refusal(between.router.forward({ live: 'ana' }, work))).toBe('@ana is being handed to another node right now; try again in a few seconds. Nothing was saved.');
    const gone = routing({ nodes: [node('gw')], holder: { node: 'dead' } });
    expect(await refusal(gone.router.forward({ live: 'ana' }, work))).toContain('@ana is watched by node `dead`, which is not answering');
    expect([...between.sent, ...gone.sent]).toEqual([]);
  });

  it('sends a press to the node that filed the clip, or to the node restarted on its host and folder', async () => {
    const filedOn = { node: 'b-old', host: 'pc2', clipsDir: '/clips/b' };
    const restarted = routing({ nodes: [node('gw'), node('b-new', 'pc2', '/clips/b'), node('c', 'pc2', '/clips/c')] });
    expect(await restarted.router.forward({ filedOn, streamer: 'ana' }, work)).toBe('answered');
    expect(restarted.sent).toEqual(['b-new']);

    const mine = routing({ nodes: [node('gw', 'pc1', '/clips/gw')] });
    expect(await mine.router.forward({ filedOn: { node: 'gw-old', host: 'pc1', clipsDir: '/clips/gw' }, streamer: 'ana' }, work)).toBe('here');
  });

  it('tells the member the clip\'s node is not answering when it is gone or did not take the press', async () => {
    const filedOn = { node: 'b', host: 'pc2', clipsDir: '/clips/b' };
    const expected = "@ana's clip is on node `b` (pc2, `/clips/b`), which is not answering; try again when it is back. Nothing was changed.";
    const gone = routing({ nodes: [node('gw'), node('c', 'pc2', '/clips/c')] });
    expect(await refusal(gone.router.forward({ filedOn, streamer: 'ana' }, work))).toBe(expected);
    expect(gone.sent).toEqual([]);
    const silent = routing({ nodes: [node('gw'), node('b', 'pc2', '/clips/b')], outcome: 'not-taken' });
    expect(await refusal(silent.router.forward({ filedOn, streamer: 'ana' }, work))).toBe(expected);
    const lost = routing({ nodes: [node('gw'), node('b', 'pc2', '/clips/b')], outcome: 'lost' });
    expect(await refusal(lost.router.forward({ filedOn, streamer: 'ana' }, work))).toContain('stopped answering while it worked on this');
    const mute = routing({ nodes: [node('gw'), node('b', 'pc2', '/clips/b')], outcome: 'unanswered' });
    expect(await refusal(mute.router.forward({ filedOn, streamer: 'ana' }, work))).toContain('which did this but could not reach Discord to answer');
  });
});
