import { ObsCapture } from '../../src/obs/obs-capture.js';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClipJournal, JOURNAL_FOLDER } from '../../src/clips/clip-journal.js';
import { ClipService, type ClipReporter } from '../../src/clips/clip-service.js';
import type { Trigger } from '../../src/triggers/trigger.js';
import type { ClipOutcome } from '../../src/clips/clip-outcome.js';
import { EventLog } from '../../src/events/event-log.js';
import { fileClip } from '../../src/clips/clip-filer.js';
import { clipFileName } from '../../src/clips/clip-name.js';
import { FakeReplayBuffer } from '../fakes/fake-replay-buffer.js';
import { storedJournalEntries, type StoredJournalEntry } from '../support/journal.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

function trigger(overrides: Partial<Trigger> = {}): Trigger {
  return {
    guildId: 'g1',
    streamer: 'alice',
    chatter: 'bob',
    keyword: 'wow',
    message: 'wow!',
    at: new Date('2026-11-24T18:30:05Z'),
    isManual: false,
    ...overrides,
  };
}

const never = new Promise<never>(() => undefined);

/** What a guild was told, and a way to make telling hang (the process "dies" while posting). */
function recordingReporter() {
  const saved: Array<{ guildId: string; outcome: ClipOutcome }> = [];
  const failed: Array<{ guildId: string; triggers: readonly Trigger[]; reason: string }> = [];
  let hangs = false;
  const reporter: ClipReporter = {
    clipSaved: async (guildId, outcome) => {
      if (hangs) return never;
      saved.push({ guildId, outcome });
    },
    clipJoined: async () => undefined,
    clipFailed: async (guildId, triggers, reason) => {
      if (hangs) return never;
      failed.push({ guildId, triggers, reason });
    },
  };
  return {
    reporter,
    saved,
    failed,
    hang: () => {
      hangs = true;
    },
  };
}

describe('ClipJournal', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'journal-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps the latest state of each moment, with its times, until it is finished', async () => {
    const journal = new ClipJournal(root, log, { allowedRoots: () => ['/obs'] });
    const first = trigger();
    // Asked for back to back, not awaited in between: writes for one clip must still land in order.
    const writes = [
      journal.record({ clipId: 'a', triggers: [first] }),
      journal.record({ clipId: 'a', triggers: [first, trigger({ chatter: 'carol' })], obsPath: '/obs/Replay.mp4', savedAt: new Date('2026-11-25T18:30:06Z') }),
      journal.record({ clipId: 'b', triggers: [trigger({ guildId: 'g2' })] }),
    ];
    await Promise.all(writes);

    const entries = await new ClipJournal(root, log, { allowedRoots: () => ['/obs'] }).unfinished();
    expect(entries.map((e) => e.clipId)).toEqual(['a', 'b']);
    expect(entries[0]).toEqual({
      clipId: 'a',
      triggers: [first, trigger({ chatter: 'carol' })],
      obsPath: '/obs/Replay.mp4',
      savedAt: new Date('2026-11-25T18:30:06Z'),
    });

    await journal.finish('a');
    expect((await journal.unfinished()).map((e) => e.clipId)).toEqual(['b']);
  });

  it('sets a corrupt entry aside instead of failing the start, and drops half-written ones', async () => {
    const journal = new ClipJournal(root, log);
    await journal.record({ clipId: 'good', triggers: [trigger()] });
    const dir = path.join(root, JOURNAL_FOLDER);
    await writeFile(path.join(dir, 'broken.json'), '{"clipId": "broken", "trig');
    await writeFile(path.join(dir, 'cut-short.json.tmp'), '{');

    expect((await journal.unfinished()).map((e) => e.clipId)).toEqual(['good']);
    expect((await readdir(dir)).sort()).toEqual(['broken.json.bad', 'good.json']);
  });

  it('refuses a clip id that would name a path outside its folder, and keeps going', async () => {
    const journal = new ClipJournal(root, log);
    await expect(journal.record({ clipId: '../../escape', triggers: [trigger()] })).resolves.toBeUndefined();
    expect(existsSync(path.join(root, 'escape.json'))).toBe(false);
    expect(existsSync(path.join(path.dirname(root), 'escape.json'))).toBe(false);
  });

  it('refuses and sets aside an entry naming a file outside the clips and OBS folders', async () => {
    await writeFile(path.join(root, '..', `${path.basename(root)}.env`), 'DISCORD_TOKEN=secret');
    const journal = new ClipJournal(root, log, { allowedRoots: () => ['/obs'] });
    await journal.record({ clipId: 'good', triggers: [trigger()], obsPath: '/obs/Replay.mp4' });
    await journal.record({ clipId: 'planted', triggers: [trigger()], filedPath: `../${path.basename(root)}.env` });
    await journal.record({ clipId: 'absolute', triggers: [trigger()], obsPath: '/etc/passwd' });
    const dir = path.join(root, JOURNAL_FOLDER);

    expect((await journal.unfinished()).map((e) => e.clipId)).toEqual(['good']);
    expect((await readdir(dir)).sort()).toEqual(['absolute.json.refused', 'good.json', 'planted.json.refused']);
    await rm(path.join(root, '..', `${path.basename(root)}.env`), { force: true });
  });

  it('never fails a clip because the journal cannot be written', async () => {
    // CLIPS_DIR/.in-flight is a file, so the journal folder cannot be made.
    await writeFile(path.join(root, JOURNAL_FOLDER), 'in the way');
    const journal = new ClipJournal(root, log);
    await expect(journal.record({ clipId: 'a', triggers: [trigger()] })).resolves.toBeUndefined();
    await expect(journal.finish('a')).resolves.toBeUndefined();
  });
});

describe('a crash mid-clip', () => {
  let root: string;
  let clipsDir: string;
  let obsDir: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'crash-'));
    clipsDir = path.join(root, 'clips');
    obsDir = path.join(root, 'obs');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A clip service on the real journal and filer; `replayBuffer` defaults to one writing real files. */
  function service(reporter: ClipReporter, replayBuffer = new FakeReplayBuffer(obsDir), fileClipImpl = fileClip) {
    const events = new EventLog();
    const clips = new ClipService({
      captures: { obs: new ObsCapture({ replayBuffer }) },
      fileClip: fileClipImpl,
      clipsDir,
      reporter,
      journal: new ClipJournal(clipsDir, log, { allowedRoots: () => [obsDir] }),
      events,
      log,
      policyFor: () => ({ cooldownSeconds: 0, delaySeconds: 0 }),
      coalesceWindowMs: 0,
    });
    return { clips, events };
  }

  async function journalled(): Promise<string[]> {
    return readdir(path.join(clipsDir, JOURNAL_FOLDER)).catch(() => []);
  }

  /** The one moment in the journal, as stored. */
  async function storedEntry(): Promise<StoredJournalEntry | undefined> {
    const entries = await storedJournalEntries(clipsDir);
    return entries.length === 1 ? entries[0] : undefined;
  }

  async function waitUntil(condition: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('posts a clip that was filed but never posted, marked as late, at the next start', async () => {
    const before = recordingReporter();
    before.hang(); // the process dies while posting
    const dying = service(before.reporter);
    dying.clips.trigger(trigger());
    dying.clips.trigger(trigger({ chatter: 'carol', guildId: 'g2' }));
    await waitUntil(async () => (await storedEntry())?.filedPath !== undefined);
    const filed = (await readdir(path.join(clipsDir, 'alice')))[0]!;
    expect(filed).toBe(clipFileName(trigger()));

    const after = recordingReporter();
    const next = service(after.reporter);
    await next.clips.recoverInterrupted();

    expect(after.saved.map((s) => s.guildId).sort()).toEqual(['g1', 'g2']);
    const { outcome } = after.saved[0]!;
    expect(outcome).toMatchObject({ fileName: filed, streamer: 'alice', isRecovered: true });
    expect(outcome.triggers.map((t) => t.chatter)).toEqual(['bob', 'carol']);
    expect(await readFile(outcome.path, 'utf8')).toBe('replay 1');
    expect(next.events.recent('g1')[0]!.text).toBe(`recovered ${filed} after a restart`);
    expect(await journalled()).toEqual([]);
    // Recovering twice posts nothing twice.
    await service(after.reporter).clips.recoverInterrupted();
    expect(after.saved).toHaveLength(2);
  });

  it('files and posts a replay OBS saved just before the crash, before it was filed', async () => {
    const dying = service(recordingReporter().reporter, undefined, () => never); // dies while filing
    dying.clips.trigger(trigger({ chatter: 'dave' }));
    await waitUntil(async () => (await storedEntry())?.obsPath !== undefined);
    expect(await readdir(obsDir)).toEqual(['Replay 1.mp4']);

    const after = recordingReporter();
    await service(after.reporter).clips.recoverInterrupted();

    expect(after.saved).toHaveLength(1);
    const { outcome } = after.saved[0]!;
    expect(outcome.path).toBe(path.join(clipsDir, 'alice', outcome.fileName));
    expect(outcome.fileName).toBe(clipFileName(trigger({ chatter: 'dave' })));
    expect(await readFile(outcome.path, 'utf8')).toBe('replay 1');
    expect(await readdir(obsDir)).toEqual([]);
    expect(await journalled()).toEqual([]);
  });

  it('says where to look when the crash came mid-filing and OBS\'s file is already gone', async () => {
    const dying = service(recordingReporter().reporter, undefined, () => never);
    dying.clips.trigger(trigger({ chatter: 'fay' }));
    await waitUntil(async () => (await storedEntry())?.obsPath !== undefined);
    await rm(path.join(obsDir, 'Replay 1.mp4')); // moved by the filing the crash cut short

    const after = recordingReporter();
    await service(after.reporter).clips.recoverInterrupted();

    expect(after.saved).toEqual([]);
    expect(after.failed).toHaveLength(1);
    expect(after.failed[0]!.reason).toBe(`the bot stopped while filing the clip; look for it in ${path.join(clipsDir, 'alice')}`);
    expect(await journalled()).toEqual([]);
  });

  it('tells the guild a moment was not clipped when the crash came before OBS saved it', async () => {
    const held = new FakeReplayBuffer(obsDir);
    held.isHeld = true; // the save request is out; the process dies before OBS answers
    const dying = service(recordingReporter().reporter, held);
    dying.clips.trigger(trigger({ chatter: 'erin', keyword: 'goal' }));
    await waitUntil(async () => (await storedEntry()) !== undefined);

    const after = recordingReporter();
    const next = service(after.reporter);
    await next.clips.recoverInterrupted();

    expect(after.saved).toEqual([]);
    expect(after.failed).toEqual([
      { guildId: 'g1', triggers: [trigger({ chatter: 'erin', keyword: 'goal' })], reason: 'the bot stopped before OBS saved the moment' },
    ]);
    expect(next.events.recent('g1')[0]).toMatchObject({ kind: 'failure' });
    expect(await journalled()).toEqual([]);
  });
});
