import { randomUUID } from 'node:crypto';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { AppError, isAppError } from '../util/errors.js';
import type { EventLog } from '../events/event-log.js';
import { sleep } from '../util/sleep.js';
import { truncate } from '../util/text.js';
import { streamerFolderName } from './clip-name.js';
import type { CaptureMode, ClipCapture } from '../capture/clip-capture.js';
import type { ClipJournal, JournalEntry } from './clip-journal.js';
import { SETTINGS_DEFAULTS } from '../store/settings-schema.js';
import { snapshotTriggers, type Trigger } from '../triggers/trigger.js';
import type { ClipOutcome } from './clip-outcome.js';
import { CLIP_DEFAULTS } from './defaults.js';
import { FFMPEG_MISSING_MESSAGE } from '../capture/stream/stream-capture.js';
import type { FileClipInput } from './clip-filer.js';

/** Where the pipeline reports: the Discord side implements it. */
export interface ClipReporter {
  /** Posts the alert with the clip to the guild's alert channel. Never throws. */
  clipSaved(guildId: string, outcome: ClipOutcome): Promise<void>;
  /** More triggers joined a clip whose alert is already out: update its credits. Never throws. */
  clipJoined(guildId: string, outcome: ClipOutcome): Promise<void>;
  /** Tells the guild's alert channel that a moment could not be clipped, and why. Never throws. */
  clipFailed(guildId: string, triggers: readonly Trigger[], reason: string): Promise<void>;
}

/** Files footage under the streamer's folder and name (clip-filer.ts's fileClip; tests pass their own). */
export type FileClip = (input: Omit<FileClipInput, 'retry' | 'fs'>) => Promise<string>;

/** What a guild asks of a stream's moments, read (from memory) at trigger time so changes apply at once. */
export interface MomentPolicy {
  readonly cooldownSeconds: number;
  /** OBS capture: wait this long after the first trigger before saving (the reaction belongs in the clip). */
  readonly delaySeconds: number;
  /** Which capture the stream uses in this guild; `obs` unless said otherwise. */
  readonly capture?: CaptureMode;
  /** Stream capture: seconds kept before and after the trigger. */
  readonly windowBeforeSeconds?: number;
  readonly windowAfterSeconds?: number;
}

export interface ClipServiceOptions {
  /** Where footage comes from; `stream` is absent when the live's own video cannot be buffered (no ffmpeg). */
  readonly captures: { readonly obs: ClipCapture; readonly stream?: ClipCapture | undefined };
  readonly fileClip: FileClip;
  readonly clipsDir: string;
  readonly reporter: ClipReporter;
  /** Remembers moments in flight so a crash mid-clip is finished at the next start. */
  readonly journal: ClipJournal;
  readonly events: EventLog;
  readonly log: Logger;
  readonly policyFor: (guildId: string, streamer: string) => MomentPolicy;
  /**
   * Triggers on a stream within this long after its clip was saved join it rather than start another.
   * By default the capture's own window (OBS: the replay buffer's length, since a second save that soon
   * would mostly repeat the same footage). Tests fix it.
   */
  readonly coalesceWindowMs?: number;
  /** CLUSTER=true: this node, recorded on each clip it files (the buttons and /clips find it by this). */
  readonly filedOn?: ClipOutcome['filedOn'];
  readonly now?: () => Date;
}

type MomentState = 'waiting' | 'saving' | 'saved' | 'failed';

/** One stream's moment: the triggers that called it, its capture, and what came of it. */
interface Moment {
  readonly id: string;
  readonly streamer: string;
  readonly capture: ClipCapture;
  /** Grows as late callers join; the first one names the clip. */
  readonly triggers: [Trigger, ...Trigger[]];
  state: MomentState;
  /** When the save finished; a moment this recent still absorbs triggers of its stream. */
  finishedAt: Date | undefined;
  outcome: Promise<ClipOutcome>;
  /** Set once saved: late joiners update this clip's alert. */
  result: ClipOutcome | undefined;
  mergedCount: number;
  /** Guilds already told (alert or failure notice): a guild that joins later gets its own. */
  readonly toldGuilds: Set<string>;
  /** Guilds whose alert awaits a credit update, and the timer that will send it. */
  readonly staleGuilds: Set<string>;
  creditTimer: NodeJS.Timeout | undefined;
  /**
   * For each guild with an automatic trigger in the moment, when its first one joined, on the monotonic
   * clock: its delay counts from there, and a wall clock set back cannot put the save off.
   */
  readonly delayFrom: Map<string, number>;
}

/**
 * For a service built without stream capture (unit tests, benches): the bot itself always has one, which
 * refuses on its own when ffmpeg is missing. Says it the same way.
 */
const NO_STREAM_CAPTURE: ClipCapture = {
  mode: 'stream',
  capture: () => Promise.reject(new AppError('FFMPEG_MISSING', FFMPEG_MISSING_MESSAGE)),
  mergeWindowMs: () => 0,
  isFailing: () => false,
};

/**
 * Turns triggers into clips. A moment belongs to one stream and produces one clip of that stream that
 * credits everyone who called it:
 * - A trigger on a stream whose moment is waiting, saving, or saved within the merge window joins it
 *   (a late caller: its alert's credits are updated; a guild that was not in it yet gets its own alert).
 * - A trigger on another stream never joins that clip: its stream gets its own moment. With OBS, moments
 *   of several streams may share one save (the capture decides), each still filed and alerted as its own.
 * - Otherwise a per-stream cooldown applies to automatic triggers (manual /clip ignores it).
 * - An optional per-guild delay lets the reaction into an OBS clip; the clip still belongs to its moment.
 * - Every moment is journalled until all its guilds were told, so a crash mid-clip loses no clip.
 * Every trigger that does not produce its own clip is visible in the event log.
 */
export class ClipService {
  /** Each stream's latest moment. */
  private readonly moments = new Map<string, Moment>();
  private readonly lastAutoClipAt = new Map<string, number>();
  private readonly cooldownLogged = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Aborted at shutdown: moments waiting out a delay are saved at once instead of being lost. */
  private readonly hurry = new AbortController();
  private readonly now: () => Date;

  constructor(private readonly options: ClipServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * An automatic trigger from chat. Returns at once (synchronously decides join / cooldown / new
   * moment, so a burst of chats in one tick is coalesced exactly); the save runs in the background.
   */
  trigger(trigger: Trigger): void {
    const joined = this.tryJoin(trigger);
    if (joined) return;
    const key = `${trigger.guildId}:${trigger.streamer}`;
    const last = this.lastAutoClipAt.get(key);
    const cooldownMs = this.options.policyFor(trigger.guildId, trigger.streamer).cooldownSeconds * 1000;
    if (last !== undefined && trigger.at.getTime() - last < cooldownMs) {
      this.logCooldown(key, trigger, cooldownMs - (trigger.at.getTime() - last));
      return;
    }
    this.lastAutoClipAt.set(key, trigger.at.getTime());
    this.cooldownLogged.delete(key);
    this.startMoment(trigger);
  }

  /**
   * A manual clip: joins its stream's save already waiting or running (same footage), else saves now
   * with no cooldown and no delay. Resolves with the filed clip.
   */
  async clipNow(trigger: Trigger): Promise<ClipOutcome> {
    const latest = this.moments.get(trigger.streamer);
    if (latest && (latest.state === 'waiting' || latest.state === 'saving')) {
      latest.triggers.push(trigger);
      this.options.events.add(trigger.guildId, {
        kind: 'merged',
        stream: trigger.streamer,
        text: `manual clip by ${trigger.chatter} joined the save in progress`,
      });
      return latest.outcome;
    }
    return this.startMoment(trigger).outcome;
  }

  /** Shutdown: saves moments still waiting out a delay now, then waits for every save to settle. */
  async close(): Promise<void> {
    this.hurry.abort();
    await this.drain();
  }

  /** Resolves when every save in flight has settled and every credit update went out. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    const pending = [...this.moments.values()].filter((m) => m.creditTimer !== undefined);
    for (const moment of pending) clearTimeout(moment.creditTimer);
    await Promise.all(pending.map((m) => this.sendCreditUpdates(m)));
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined);
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private scheduleCreditUpdate(moment: Moment, guildId: string): void {
    moment.staleGuilds.add(guildId);
    moment.creditTimer ??= setTimeout(() => void this.sendCreditUpdates(moment), CLIP_DEFAULTS.moment.creditUpdateDelayMs);
  }

  private async sendCreditUpdates(moment: Moment): Promise<void> {
    moment.creditTimer = undefined;
    const guildIds = [...moment.staleGuilds];
    moment.staleGuilds.clear();
    const outcome = moment.result;
    if (!outcome) return;
    await Promise.all(
      guildIds.map((g) =>
        this.options.reporter.clipJoined(g, outcome).catch((err: unknown) => this.options.log.error({ err }, 'credit update failed')),
      ),
    );
  }

  private mergeWindowMs(moment: Moment): number {
    return this.options.coalesceWindowMs ?? moment.capture.mergeWindowMs(moment.streamer);
  }

  private tryJoin(trigger: Trigger): boolean {
    const moment = this.moments.get(trigger.streamer);
    if (!moment) return false;
    const isRecent =
      moment.finishedAt !== undefined && trigger.at.getTime() - moment.finishedAt.getTime() < this.mergeWindowMs(moment);
    const isOpen =
      moment.state === 'waiting' ||
      moment.state === 'saving' ||
      (moment.state === 'saved' && isRecent) ||
      // While the capture stays down (OBS), one "could not clip" notice speaks for the whole burst; once
      // it is back, the next trigger clips again.
      (moment.state === 'failed' && isRecent && moment.capture.isFailing(moment.streamer));
    if (!isOpen) return false;
    moment.triggers.push(trigger);
    noteDelayStart(moment, trigger);
    moment.mergedCount += 1;
    this.tellLateGuild(moment, trigger);
    if (moment.mergedCount <= CLIP_DEFAULTS.moment.mergeLogLimit) {
      const first = moment.triggers[0].chatter;
      this.options.events.add(trigger.guildId, {
        kind: 'merged',
        stream: trigger.streamer,
        text:
          moment.state === 'failed'
            ? `"${trigger.keyword}" by ${trigger.chatter} not clipped: ${moment.capture.mode === 'obs' ? 'OBS' : 'the stream capture'} is still down (same moment as ${first})`
            : `"${trigger.keyword}" by ${trigger.chatter} joined the clip of ${first}`,
      });
    }
    return true;
  }

  /**
   * A trigger joined a moment that was already reported: its guild's alert gets the new credits, or, for
   * a guild the moment had not reached yet, an alert (or failure notice) of its own.
   */
  private tellLateGuild(moment: Moment, trigger: Trigger): void {
    const { guildId } = trigger;
    if (moment.state === 'saved' && moment.result) {
      if (moment.toldGuilds.has(guildId)) {
        this.scheduleCreditUpdate(moment, guildId);
        return;
      }
      moment.toldGuilds.add(guildId);
      const outcome = moment.result;
      this.track(this.report([trigger], (g) => this.announceSaved(g, outcome)));
    } else if (moment.state === 'failed' && !moment.toldGuilds.has(guildId)) {
      moment.toldGuilds.add(guildId);
      const reason = this.failureReasons.get(moment.id) ?? 'the capture is down';
      this.track(this.report([trigger], (g) => this.options.reporter.clipFailed(g, [trigger], reason)));
    }
  }

  /** Why each recent failed moment failed, for guilds that join it later. */
  private readonly failureReasons = new Map<string, string>();

  private logCooldown(key: string, trigger: Trigger, remainingMs: number): void {
    const count = (this.cooldownLogged.get(key) ?? 0) + 1;
    this.cooldownLogged.set(key, count);
    // A burst can hold hundreds of chats: log the first and then every 25th so the log keeps its history.
    if (count === 1 || count % 25 === 0) {
      this.options.events.add(trigger.guildId, {
        kind: 'cooldown',
        stream: trigger.streamer,
        text: `"${trigger.keyword}" by ${trigger.chatter} not clipped: cooldown, ${Math.ceil(remainingMs / 1000)} s left (${count} skipped)`,
      });
    }
  }

  private captureFor(policy: MomentPolicy): ClipCapture {
    const mode = policy.capture ?? SETTINGS_DEFAULTS.captureMode;
    return mode === 'stream' ? (this.options.captures.stream ?? NO_STREAM_CAPTURE) : this.options.captures.obs;
  }

  private startMoment(first: Trigger): Moment {
    const previous = this.moments.get(first.streamer);
    if (previous) this.failureReasons.delete(previous.id);
    const policy = this.options.policyFor(first.guildId, first.streamer);
    const moment: Moment = {
      id: randomUUID(),
      streamer: first.streamer,
      capture: this.captureFor(policy),
      triggers: [first],
      state: 'waiting',
      finishedAt: undefined,
      outcome: undefined as unknown as Promise<ClipOutcome>,
      result: undefined,
      mergedCount: 0,
      toldGuilds: new Set(),
      staleGuilds: new Set(),
      creditTimer: undefined,
      delayFrom: new Map(),
    };
    noteDelayStart(moment, first);
    this.moments.set(first.streamer, moment);
    this.options.events.add(first.guildId, {
      kind: 'trigger',
      stream: first.streamer,
      text: first.isManual
        ? `manual clip by ${first.chatter}`
        : `"${first.keyword}" by ${first.chatter}: ${truncate(first.message, 120)}`,
    });
    moment.outcome = this.runMoment(moment, policy);
    this.track(moment.outcome);
    return moment;
  }

  private async runMoment(moment: Moment, policy: MomentPolicy): Promise<ClipOutcome> {
    const first = moment.triggers[0];
    const { journal } = this.options;
    // Not awaited: the save must not wait on the disk. Writes for one clip land in order.
    void journal.record({ clipId: moment.id, triggers: snapshotTriggers(moment.triggers) });
    try {
      if (!first.isManual && moment.capture.mode === 'obs') await this.waitOutDelays(moment);
      moment.state = 'saving';
      const request = {
        streamer: moment.streamer,
        at: first.at,
        beforeSeconds: policy.windowBeforeSeconds ?? SETTINGS_DEFAULTS.windowBeforeSeconds,
        afterSeconds: policy.windowAfterSeconds ?? SETTINGS_DEFAULTS.windowAfterSeconds,
      };
      const captured = await moment.capture.capture(request, async (footage) => {
        const saved = {
          clipId: moment.id,
          triggers: snapshotTriggers(moment.triggers),
          obsPath: footage.path,
          savedAt: footage.savedAt,
          ...(footage.isShared ? { isSourceShared: true } : {}),
        };
        // Awaited: from here a crash must find the footage through the journal.
        await journal.record(saved);
        const filedPath = await this.fileFootage(footage.path, first, footage.isShared);
        void journal.record({ ...saved, filedPath });
        return filedPath;
      });
      moment.state = 'saved';
      moment.finishedAt = this.now();
      const outcome: ClipOutcome = {
        clipId: moment.id,
        path: captured.path,
        fileName: path.basename(captured.path),
        streamer: moment.streamer,
        triggers: moment.triggers,
        savedAt: captured.savedAt,
        ...(captured.note ? { captureNote: captured.note } : {}),
        capture: moment.capture.mode,
        ...(moment.capture.mode === 'stream' ? { window: { beforeSeconds: request.beforeSeconds, afterSeconds: request.afterSeconds } } : {}),
        ...(captured.startedAt ? { startedAt: captured.startedAt } : {}),
        ...(captured.durationSeconds !== undefined ? { durationSeconds: captured.durationSeconds } : {}),
        ...(this.options.filedOn ? { filedOn: this.options.filedOn } : {}),
      };
      moment.result = outcome;
      const triggersNow = snapshotTriggers(moment.triggers);
      for (const t of triggersNow) moment.toldGuilds.add(t.guildId);
      await this.report(triggersNow, (guildId) => this.announceSaved(guildId, outcome));
      await journal.finish(moment.id);
      return outcome;
    } catch (err) {
      moment.state = 'failed';
      moment.finishedAt = this.now();
      const reason = explainFailure(err);
      this.failureReasons.set(moment.id, reason);
      this.options.log.error({ err, streamer: moment.streamer }, 'clip failed');
      const triggersNow = snapshotTriggers(moment.triggers);
      for (const t of triggersNow) moment.toldGuilds.add(t.guildId);
      await this.report(triggersNow, (guildId) => {
        this.options.events.add(guildId, { kind: 'failure', stream: moment.streamer, text: `clip failed: ${reason}` });
        const automatic = triggersNow.filter((t) => t.guildId === guildId && !t.isManual);
        return automatic.length > 0 ? this.options.reporter.clipFailed(guildId, automatic, reason) : Promise.resolve();
      });
      await journal.finish(moment.id);
      throw err instanceof AppError ? err : new AppError('INTERNAL', reason, { cause: err });
    }
  }

  private announceSaved(guildId: string, outcome: ClipOutcome): Promise<void> {
    const mine = outcome.triggers.filter((t) => t.guildId === guildId);
    this.options.events.add(guildId, {
      kind: 'save',
      stream: outcome.streamer,
      text: `saved ${outcome.fileName}${creditSummary(mine)}`,
    });
    return this.options.reporter.clipSaved(guildId, outcome);
  }

  /**
   * Waits until every guild that joined the moment while it waited has had its delay: guilds sharing
   * one OBS may ask for different delays, and a guild with a longer one still wants its reaction in the
   * clip. Each guild counts from its own first trigger, so a long burst cannot put the save off forever.
   */
  private async waitOutDelays(moment: Moment): Promise<void> {
    while (!this.hurry.signal.aborted) {
      let dueAt = 0;
      for (const [guildId, from] of moment.delayFrom) {
        dueAt = Math.max(dueAt, from + this.options.policyFor(guildId, moment.streamer).delaySeconds * 1000);
      }
      const waitMs = dueAt - performance.now();
      if (waitMs <= 0) return;
      await sleep(waitMs, this.hurry.signal).catch(() => undefined);
    }
  }

  private fileFootage(sourcePath: string, first: Trigger, keepSource: boolean): Promise<string> {
    return this.options.fileClip({
      sourcePath,
      clipsDir: this.options.clipsDir,
      streamer: first.streamer,
      chatter: first.chatter,
      keyword: first.keyword,
      at: first.at,
      ...(keepSource ? { keepSource: true } : {}),
    });
  }

  /**
   * Finishes the moments a previous run left in flight (a crash, a kill, a power cut): a clip that was
   * filed or at least saved by OBS is filed and posted, marked as recovered; a moment OBS never saved
   * is reported as not clipped. Runs in the background of start-up; close() waits for it.
   */
  recoverInterrupted(): Promise<void> {
    const recovery = (async () => {
      for (const entry of await this.options.journal.unfinished()) {
        await this.recover(entry).catch((err: unknown) => this.options.log.error({ err, clipId: entry.clipId }, 'clip recovery failed'));
      }
    })();
    this.track(recovery);
    return recovery;
  }

  private async recover(entry: JournalEntry): Promise<void> {
    const first = entry.triggers[0];
    this.options.log.warn({ clipId: entry.clipId, obsPath: entry.obsPath, filedPath: entry.filedPath }, 'finishing a clip interrupted by a restart');
    const found = await this.findInterruptedClip(entry);
    if ('filedPath' in found) {
      const outcome: ClipOutcome = {
        clipId: entry.clipId,
        path: found.filedPath,
        fileName: path.basename(found.filedPath),
        streamer: first.streamer,
        triggers: entry.triggers,
        savedAt: entry.savedAt ?? first.at,
        isRecovered: true,
        ...(this.options.filedOn ? { filedOn: this.options.filedOn } : {}),
      };
      await this.report(entry.triggers, (guildId) => {
        this.options.events.add(guildId, { kind: 'save', stream: first.streamer, text: `recovered ${outcome.fileName} after a restart` });
        return this.options.reporter.clipSaved(guildId, outcome);
      });
    } else {
      await this.report(entry.triggers, (guildId) => {
        this.options.events.add(guildId, { kind: 'failure', stream: first.streamer, text: `not clipped, interrupted by a restart: ${found.reason}` });
        return this.options.reporter.clipFailed(guildId, entry.triggers.filter((t) => t.guildId === guildId), found.reason);
      });
    }
    await this.options.journal.finish(entry.clipId);
  }

  /** The interrupted moment's clip, filed now if OBS had saved it but it was not filed yet; else why not. */
  private async findInterruptedClip(entry: JournalEntry): Promise<{ filedPath: string } | { reason: string }> {
    const first = entry.triggers[0];
    if (entry.filedPath !== undefined && (await exists(entry.filedPath))) return { filedPath: entry.filedPath };
    if (entry.obsPath === undefined) return { reason: 'the bot stopped before OBS saved the moment' };
    if (!(await exists(entry.obsPath))) {
      const folder = path.join(this.options.clipsDir, streamerFolderName(first.streamer));
      return { reason: `the bot stopped while filing the clip; look for it in ${folder}` };
    }
    try {
      return { filedPath: await this.fileFootage(entry.obsPath, first, entry.isSourceShared === true) };
    } catch (err) {
      return { reason: `the bot stopped while filing the clip, and filing it again failed (${explainFailure(err)}); OBS's file is ${entry.obsPath}` };
    }
  }

  /** Runs `each` once per guild that took part in the moment. */
  private async report(triggers: readonly Trigger[], each: (guildId: string) => Promise<void>): Promise<void> {
    const guildIds = [...new Set(triggers.map((t) => t.guildId))];
    await Promise.all(guildIds.map((g) => each(g).catch((err: unknown) => this.options.log.error({ err }, 'clip report failed'))));
  }
}

function noteDelayStart(moment: Moment, trigger: Trigger): void {
  if (!trigger.isManual && !moment.delayFrom.has(trigger.guildId)) moment.delayFrom.set(trigger.guildId, performance.now());
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

function creditSummary(triggers: readonly Trigger[]): string {
  return triggers.length > 1 ? ` (${triggers.length} triggers merged)` : '';
}

/** A failure in words a moderator understands. */
export function explainFailure(err: unknown): string {
  if (isAppError(err, 'OBS_UNAVAILABLE')) return 'OBS is not connected';
  // The adapter's own words say whether it got the buffer going again, which the moderator wants to know.
  if (isAppError(err, 'OBS_BUFFER_NOT_RUNNING')) return err.message;
  if (isAppError(err, 'OBS_TIMEOUT')) return 'OBS did not answer in time';
  if (isAppError(err, 'CLIP_FILE_FAILED')) return `the clip was saved but could not be filed: ${err.message}`;
  if (err instanceof AppError) return err.message;
  return 'an unexpected error (see the bot log)';
}
