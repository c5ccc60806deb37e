import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ObsCapture } from '../../src/obs/obs-capture.js';
import { ClipJournal, JOURNAL_FOLDER } from '../../src/clips/clip-journal.js';
import { ClipService, explainFailure, type ClipReporter, type FileClip } from '../../src/clips/clip-service.js';
import { AppError } from '../../src/util/errors.js';
import type { Trigger } from '../../src/triggers/trigger.js';
import type { ClipOutcome } from '../../src/clips/clip-outcome.js';
import { EventLog } from '../../src/events/event-log.js';
import { FakeReplayBuffer } from '../fakes/fake-replay-buffer.js';

const log = pino({ level: 'silent' });
const journalRoots: string[] = [];

interface SetupOptions {
  cooldownSeconds?: number;
  delaySeconds?: number;
  /** Per-guild delays; guilds not listed get `delaySeconds`. */
  delaySecondsByGuild?: Record<string, number>;
  coalesceWindowMs?: number | undefined;
}

function setup(options: SetupOptions = {}) {
  const replayBuffer = new FakeReplayBuffer();
  const events = new EventLog();
  const saved: ClipOutcome[] = [];
  const joined: string[][] = [];
  const failed: Array<{ guildId: string; triggers: readonly Trigger[]; reason: string }> = [];
  const filed: Array<Parameters<FileClip>[0]> = [];
  /** Which guild each alert went to, in order: `g1/alice`. */
  const alerts: string[] = [];
  const reporter: ClipReporter = {
    clipSaved: async (guildId, outcome) => {
      saved.push(outcome);
      alerts.push(`${guildId}/${outcome.streamer}`);
    },
    clipJoined: async (_guildId, outcome) => void joined.push(outcome.triggers.map((t) => t.chatter)),
    clipFailed: async (guildId, triggers, reason) => void failed.push({ guildId, triggers, reason }),
  };
  const fileClip: FileClip = async (input) => {
    filed.push(input);
    return `/clips/${input.streamer}/${input.chatter}_${input.keyword}_${filed.length}.mp4`;
  };
  const journalRoot = mkdtempSync(path.join(os.tmpdir(), 'clip-service-'));
  journalRoots.push(journalRoot);
  const service = new ClipService({
    captures: { obs: new ObsCapture({ replayBuffer }) },
    fileClip,
    clipsDir: '/clips',
    reporter,
    journal: new ClipJournal(journalRoot, log),
    events,
    log,
    policyFor: (guildId) => ({
      cooldownSeconds: options.cooldownSeconds ?? 30,
      delaySeconds: options.delaySecondsByGuild?.[guildId] ?? options.delaySeconds ?? 0,
    }),
    ...('coalesceWindowMs' in options ? (options.coalesceWindowMs === undefined ? {} : { coalesceWindowMs: options.coalesceWindowMs }) : { coalesceWindowMs: 30_000 }),
  });
  /** Moments the journal still holds: none once every moment settled. */
  const journalled = () => {
    try {
      return readdirSync(path.join(journalRoot, JOURNAL_FOLDER));
    } catch {
      return [];
    }
  };
  return { service, replayBuffer, events, saved, failed, filed, joined, journalled, alerts };
}

function trigger(overrides: Partial<Trigger> = {}): Trigger {
  return { guildId: 'g1', streamer: 'alice', chatter: 'bob', keyword: 'wow', message: 'wow!', at: new Date(), isManual: false, ...overrides };
}

describe('ClipService', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2026-11-25T12:00:00Z') }));
  afterEach(() => {
    vi.useRealTimers();
    for (const root of journalRoots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it('turns a burst of 100 triggers into one clip that credits every chatter, named after the first', async () => {
    const { service, replayBuffer, saved, filed, events, journalled } = setup();
    for (let i = 0; i < 100; i += 1) service.trigger(trigger({ chatter: `viewer${i}` }));
    await service.drain();
    expect(replayBuffer.saves).toBe(1);
    expect(filed[0]).toMatchObject({ chatter: 'viewer0', keyword: 'wow', streamer: 'alice' });
    expect(saved[0]!.triggers.map((t) => t.chatter)).toEqual(Array.from({ length: 100 }, (_, i) => `viewer${i}`));
    const kinds = events.recent('g1').map((e) => e.kind);
    expect(kinds).toContain('merged');
    expect(events.recent('g1')[0]!.text).toContain('100 triggers merged');
    expect(journalled()).toEqual([]);
  });

  it('lets a trigger on the same stream during a save in flight join it instead of starting another', async () => {
    const { service, replayBuffer, saved } = setup();
    replayBuffer.isHeld = true;
    service.trigger(trigger({ chatter: 'first' }));
    await vi.advanceTimersByTimeAsync(0);
    service.trigger(trigger({ chatter: 'second' }));
    replayBuffer.release();
    await service.drain();
    expect(replayBuffer.saves).toBe(1);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.triggers.map((t) => t.chatter)).toEqual(['first', 'second']);
  });

  it('gives another stream triggering during a save its own clip and alert, sharing that one OBS save', async () => {
    const { service, replayBuffer, saved, filed, alerts } = setup();
    replayBuffer.isHeld = true;
    service.trigger(trigger({ chatter: 'first' }));
    await vi.advanceTimersByTimeAsync(0);
    service.trigger(trigger({ guildId: 'g2', chatter: 'second', streamer: 'carol', keyword: 'pog' }));
    await vi.advanceTimersByTimeAsync(0);
    replayBuffer.release();
    await service.drain();
    expect(replayBuffer.saves).toBe(1);
    expect(saved.map((o) => `${o.streamer}:${o.triggers.map((t) => t.chatter).join(',')}`).sort()).toEqual(['alice:first', 'carol:second']);
    expect(alerts.sort()).toEqual(['g1/alice', 'g2/carol']);
    // Filed under each streamer with its own chatter and keyword; the second from the first's clip, kept.
    expect(filed.map((f) => `${f.streamer}/${f.chatter}_${f.keyword}`)).toEqual(['alice/first_wow', 'carol/second_pog']);
    expect(filed[0]!.keepSource).toBeUndefined();
    expect(filed[1]).toMatchObject({ sourcePath: '/clips/alice/first_wow_1.mp4', keepSource: true });
  });

  it('never lets a trigger on another stream disappear into a clip already saved', async () => {
    const { service, replayBuffer, saved, joined, alerts } = setup({ coalesceWindowMs: 60_000 });
    service.trigger(trigger({ streamer: 'gina', chatter: 'g.fan' }));
    await service.drain();
    await vi.advanceTimersByTimeAsync(3_000);
    service.trigger(trigger({ streamer: 'alice', chatter: 'a.fan', at: new Date() }));
    await service.drain();
    expect(replayBuffer.saves).toBe(2);
    expect(joined).toEqual([]);
    expect(saved.map((o) => `${o.streamer}/${o.triggers[0].chatter}`)).toEqual(['gina/g.fan', 'alice/a.fan']);
    expect(alerts).toEqual(['g1/gina', 'g1/alice']);
  });

  it('alerts a second server that calls the same stream\'s moment after its save, and edits the first server\'s credits for its late caller', async () => {
    const { service, replayBuffer, alerts, joined } = setup({ coalesceWindowMs: 30_000 });
    service.trigger(trigger({ guildId: 'g1', chatter: 'first' }));
    await service.drain();
    await vi.advanceTimersByTimeAsync(2_000);
    service.trigger(trigger({ guildId: 'g2', chatter: 'other.server', at: new Date() }));
    service.trigger(trigger({ guildId: 'g1', chatter: 'late', at: new Date() }));
    await vi.advanceTimersByTimeAsync(2_000);
    await service.drain();
    expect(replayBuffer.saves).toBe(1);
    expect(alerts).toEqual(['g1/alice', 'g2/alice']);
    expect(joined).toEqual([['first', 'other.server', 'late']]);
  });

  it('tells a server that joins a failed moment while OBS stays down, once', async () => {
    const { service, replayBuffer, failed } = setup({ cooldownSeconds: 0 });
    replayBuffer.isDown = true;
    service.trigger(trigger({ guildId: 'g1', chatter: 'first' }));
    await service.drain();
    service.trigger(trigger({ guildId: 'g2', chatter: 'second', at: new Date() }));
    service.trigger(trigger({ guildId: 'g2', chatter: 'third', at: new Date() }));
    await service.drain();
    expect(failed.map((f) => `${f.guildId}:${f.triggers.map((t) => t.chatter).join(',')}`)).toEqual(['g1:first', 'g2:second']);
    expect(failed[1]!.reason).toBe('OBS is not connected');
  });

  it('by default coalesces for as long as OBS says its replay buffer is (5 s in the fake)', async () => {
    const { service, replayBuffer, saved, joined } = setup({ cooldownSeconds: 0, coalesceWindowMs: undefined });
    service.trigger(trigger({ chatter: 'first' }));
    await service.drain();
    await vi.advanceTimersByTimeAsync(4_000);
    service.trigger(trigger({ chatter: 'within', at: new Date() }));
    await vi.advanceTimersByTimeAsync(2_000);
    service.trigger(trigger({ chatter: 'after', at: new Date() }));
    await service.drain();
    expect(replayBuffer.saves).toBe(2);
    expect(saved[0]!.triggers.map((t) => t.chatter)).toEqual(['first', 'within']);
    // 'within' joined after the alert went out: the alert's credits are updated once.
    expect(joined).toEqual([['first', 'within']]);
  });

  it('applies the per-stream cooldown after the coalescing window, and logs what it skipped', async () => {
    const { service, replayBuffer, events } = setup({ cooldownSeconds: 60, coalesceWindowMs: 5_000 });
    service.trigger(trigger());
    await service.drain();
    await vi.advanceTimersByTimeAsync(10_000);
    service.trigger(trigger({ at: new Date(), chatter: 'late' }));
    await service.drain();
    expect(replayBuffer.saves).toBe(1);
    expect(events.recent('g1', { stream: 'alice' })[0]).toMatchObject({ kind: 'cooldown' });
    expect(events.recent('g1')[0]!.text).toContain('late');

    // Another stream has its own cooldown.
    service.trigger(trigger({ at: new Date(), streamer: 'dave' }));
    await service.drain();
    expect(replayBuffer.saves).toBe(2);

    await vi.advanceTimersByTimeAsync(51_000);
    service.trigger(trigger({ at: new Date() }));
    await service.drain();
    expect(replayBuffer.saves).toBe(3);
  });

  it('ignores the cooldown for manual clips', async () => {
    const { service, replayBuffer } = setup({ cooldownSeconds: 600, coalesceWindowMs: 0 });
    service.trigger(trigger());
    await service.drain();
    await vi.advanceTimersByTimeAsync(1_000);
    const outcome = await service.clipNow(trigger({ chatter: 'Mod Name', keyword: 'manual', isManual: true, at: new Date() }));
    expect(replayBuffer.saves).toBe(2);
    expect(outcome.triggers[0]).toMatchObject({ chatter: 'Mod Name', keyword: 'manual' });
  });

  it('waits the guild delay before saving, and names the clip after the moment that triggered it', async () => {
    const { service, replayBuffer, filed } = setup({ delaySeconds: 10 });
    const at = new Date();
    service.trigger(trigger({ at }));
    await vi.advanceTimersByTimeAsync(9_000);
    expect(replayBuffer.saves).toBe(0);
    service.trigger(trigger({ chatter: 'during-delay', at: new Date() }));
    await vi.advanceTimersByTimeAsync(1_000);
    await service.drain();
    expect(replayBuffer.saves).toBe(1);
    expect(filed[0]!.at).toEqual(at);
  });

  it('waits for the longest delay of the guilds that joined the moment, counted from each guild\'s first trigger', async () => {
    const { service, replayBuffer, filed } = setup({ delaySecondsByGuild: { g1: 5, g2: 10 } });
    const at = new Date();
    service.trigger(trigger({ guildId: 'g1', at }));
    await vi.advanceTimersByTimeAsync(2_000);
    service.trigger(trigger({ guildId: 'g2', chatter: 'dave', at: new Date() }));
    await vi.advanceTimersByTimeAsync(5_000);
    // g1 alone would have saved at 5 s; g2 joined at 2 s and asked for 10 s.
    service.trigger(trigger({ guildId: 'g2', chatter: 'late', at: new Date() }));
    expect(replayBuffer.saves).toBe(0);
    await vi.advanceTimersByTimeAsync(4_900);
    expect(replayBuffer.saves).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    await service.drain();
    // Due at 12 s (g2's first trigger + 10 s), not put off by g2's later trigger at 7 s.
    expect(replayBuffer.saves).toBe(1);
    expect(filed[0]).toMatchObject({ chatter: 'bob', at });
  });

  it('saves a moment still waiting out its delay at once when the bot shuts down', async () => {
    const { service, replayBuffer } = setup({ delaySeconds: 600 });
    service.trigger(trigger());
    await vi.advanceTimersByTimeAsync(1_000);
    expect(replayBuffer.saves).toBe(0);
    await service.close();
    expect(replayBuffer.saves).toBe(1);
  });

  it('tells the guild when OBS is down instead of dropping the moment', async () => {
    const { service, replayBuffer, failed, events, journalled } = setup();
    replayBuffer.isDown = true;
    service.trigger(trigger({ chatter: 'eve' }));
    await service.drain();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ guildId: 'g1', reason: 'OBS is not connected' });
    expect(failed[0]!.triggers[0]!.chatter).toBe('eve');
    expect(events.recent('g1')[0]).toMatchObject({ kind: 'failure' });
    expect(journalled()).toEqual([]);
    // A failed moment does not absorb the next trigger.
    replayBuffer.isDown = false;
    service.trigger(trigger({ chatter: 'frank', streamer: 'other' }));
    await service.drain();
    expect(replayBuffer.saves).toBe(1);
  });

  it('sends one "could not clip" notice for a burst while OBS stays down, and clips again once it is back', async () => {
    const { service, replayBuffer, failed, events } = setup({ cooldownSeconds: 0 });
    replayBuffer.isDown = true;
    service.trigger(trigger({ chatter: 'first' }));
    await service.drain();
    for (let i = 0; i < 10; i += 1) service.trigger(trigger({ chatter: `later${i}`, at: new Date() }));
    await service.drain();
    expect(failed).toHaveLength(1);
    expect(events.recent('g1').filter((e) => e.text.includes('OBS is still down'))).toHaveLength(5);

    replayBuffer.isDown = false;
    service.trigger(trigger({ chatter: 'back', at: new Date() }));
    await service.drain();
    expect(replayBuffer.saves).toBe(1);
  });

  it('rejects a manual clip with a clear code when OBS is down', async () => {
    const { service, replayBuffer } = setup();
    replayBuffer.isDown = true;
    await expect(service.clipNow(trigger({ isManual: true }))).rejects.toMatchObject({ code: 'OBS_UNAVAILABLE' });
  });

  it('tells the moderator whether the replay buffer was started again, in the adapter\'s words', () => {
    const restarted = 'the OBS replay buffer was not running; it has been started, so clips work again in a few seconds';
    expect(explainFailure(new AppError('OBS_BUFFER_NOT_RUNNING', restarted))).toBe(restarted);
    expect(explainFailure(new AppError('OBS_UNAVAILABLE', 'socket closed 1006'))).toBe('OBS is not connected');
    expect(explainFailure(new Error('boom'))).toBe('an unexpected error (see the bot log)');
  });
});
