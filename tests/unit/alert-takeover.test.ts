import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertTakeover } from '../../src/delivery/alert-takeover.js';
import { OutboxStore, nonceFor, type FileHome, type OutboxEntry } from '../../src/delivery/outbox.js';
import { BotStore } from '../../src/store/bot-store.js';

/**
 * The takeover's decisions against a real store (one SQLite file opened by each "node", as the nodes of a
 * cluster share one database): of several nodes looking at once exactly one takes a gone node's alert, a
 * node not gone long enough (or back) keeps its alerts, and the filing node picks up what was posted for it.
 */
const home = (name: string): FileHome => ({ host: 'host-1', clipsDir: `/clips/${name}` });
const A = home('a');
const B = home('b');
const C = home('c');
const D = home('d');

let dir: string;
const stores: BotStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'alert-takeover-'));
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function outboxOfANode(): Promise<OutboxStore> {
  const store = await BotStore.open(`sqlite://${path.join(dir, 'bot.sqlite')}`, pino({ level: 'silent' }));
  stores.push(store);
  return new OutboxStore(store.rows());
}

async function queueAlertOf(outbox: OutboxStore, filedOn: FileHome): Promise<OutboxEntry> {
  const id = 'alert:guild-1:clip-1';
  return outbox.put({
    id,
    kind: 'alert',
    guildId: 'guild-1',
    streamer: 'some.live',
    nonce: nonceFor(id),
    filedOn,
    alert: { clipId: 'clip-1', path: `${filedOn.clipsDir}/some.live/fan_wow.mp4`, fileName: 'fan_wow.mp4', streamer: 'some.live', callers: [], moreCallers: 0, savedAt: new Date().toISOString() },
  });
}

function takeoverOn(node: FileHome, outbox: OutboxStore, alive: readonly FileHome[], takeoverAfterMs = 0) {
  const accepted: OutboxEntry[] = [];
  const takeover = new AlertTakeover({
    home: node,
    liveHomes: async () => alive,
    outbox,
    isOursToo: () => false,
    events: { add: () => undefined },
    log: pino({ level: 'silent' }),
    timings: { takeoverAfterMs, takeoverCheckMs: 60_000 },
  });
  const worker = { accept: (entry: OutboxEntry) => void accepted.push(entry), isHeld: (id: string) => accepted.some((e) => e.id === id) };
  return { look: () => takeover.look(worker), accepted };
}

describe('AlertTakeover', () => {
  it('lets exactly one of three nodes looking at once take the alert of a node gone from the registry', async () => {
    await queueAlertOf(await outboxOfANode(), B);
    const alive = [A, C, D];
    const nodes = await Promise.all([A, C, D].map(async (n) => takeoverOn(n, await outboxOfANode(), alive)));
    await Promise.all(nodes.map((n) => n.look()));
    const takers = nodes.filter((n) => n.accepted.length > 0);
    expect(takers).toHaveLength(1);
    const [stored] = await (await outboxOfANode()).pending();
    expect(stored?.kind === 'alert' && stored.takenOver?.by).toEqual(takers[0]!.accepted[0]!.kind === 'alert' && takers[0]!.accepted[0]!.takenOver?.by);
    // Looking again changes nothing: the taker holds it now and it is alive.
    await Promise.all(nodes.map((n) => n.look()));
    expect(nodes.flatMap((n) => n.accepted)).toHaveLength(1);
  });

  it('leaves the alert of a node that is alive, or gone for less than the bound, to that node', async () => {
    const outbox = await outboxOfANode();
    await queueAlertOf(outbox, B);
    const whileAlive = takeoverOn(A, outbox, [A, B]);
    await whileAlive.look();
    const justGone = takeoverOn(A, outbox, [A], 60_000);
    await justGone.look();
    await justGone.look();
    expect([...whileAlive.accepted, ...justGone.accepted]).toEqual([]);
    const [stored] = await outbox.pending();
    expect(stored?.kind === 'alert' && stored.takenOver).toBeUndefined();
  });

  it('hands the filing node its alert once the taker posted it without the video, and a dead taker\'s to another', async () => {
    const outbox = await outboxOfANode();
    const { id } = await queueAlertOf(outbox, B);
    await outbox.takeOver(id, B, C);
    // The taker C died before posting: A takes it from C (B, the filing node, is gone too).
    const fromDeadTaker = takeoverOn(A, outbox, [A]);
    await fromDeadTaker.look();
    expect(fromDeadTaker.accepted.map((e) => e.kind === 'alert' && e.takenOver?.by)).toEqual([A]);

    await outbox.postedWithoutVideo(id, { channelId: 'channel-1', messageId: 'message-1' });
    const filer = takeoverOn(B, outbox, [A, B]);
    await filer.look();
    expect(filer.accepted.map((e) => e.kind === 'alert' && e.takenOver?.posted)).toEqual([{ channelId: 'channel-1', messageId: 'message-1' }]);
    // Posted: nobody takes it any more, even with its filing node gone again.
    expect(await outbox.takeOver(id, B, A)).toBeUndefined();
  });
});
