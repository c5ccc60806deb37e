import { randomUUID } from 'node:crypto';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { AppError, isAppError } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import { sleep } from '../util/backoff.js';
import { truncate } from '../util/text.js';
import { streamerFolderName } from '../obs/clip-name.js';
import type { ReplayBuffer } from '../obs/replay-buffer.js';
import type { ClipJournal, JournalEntry } from './clip-journal.js';
import type { ClipOutcome, Trigger } from './moment.js';

/** Where the pipeline reports: the Discord side implements it. */
export interface ClipReporter {
  /** Posts the alert with the clip to the guild's alert channel. Never throws. */
  clipSaved(guildId: string, outcome: ClipOutcome): Promise<void>;
  /** More triggers joined a clip whose alert is already out: update its credits. Never throws. */
  clipJoined(guildId: string, outcome: ClipOutcome): Promise<void>;
  /** Tells the guild's alert channel that a moment could not be clipped, and why. Never throws. */
  clipFailed(guildId: string, triggers: readonly Trigger[], reason: string): Promise<void>;
}

export type FileClip = (input: {
  sourcePath: string;
  clipsDir: string;
  streamer: string;
  chatter: string;
  keyword: string;
  at: Date;
}) => Promise<string>;

export interface ClipServiceOptions {
  readonly replayBuffer: ReplayBuffer;
  readonly fileClip: FileClip;
  readonly clipsDir: string;
  readonly reporter: ClipReporter;
  /** Remembers moments in flight so a crash mid-clip is finished at the next start. */
  readonly journal: ClipJournal;
  readonly events: EventLog;
  readonly log: Logger;
  /** Per-guild settings the policy needs, read (from memory) at trigger time so changes apply at once. */
  readonly policyFor: (guildId: string) => { cooldownSeconds: number; delaySeconds: number };
  /**
   * Triggers within this long after a save join it rather than start another. By default the replay
   * buffer's length as OBS reports it: a second save that soon would mostly repeat the same footage.
   */
  readonly coalesceWindowMs?: number;
  readonly now?: () => Date;
}

/** Used until OBS has told us its replay buffer length. */
export const DEFAULT_COALESCE_WINDOW_MS = 30_000;

type MomentState = 'waiting' | 'saving' | 'saved' | 'failed';

interface Moment {
  readonly id: string;
  readonly triggers: Trigger[];
  state: MomentState;
  /** When the save finished; a moment this recent still absorbs triggers. */
  finishedAt: Date | undefined;
  outcome: Promise<ClipOutcome>;
  /** Set once saved: late joiners update this clip's alert. */
  result: ClipOutcome | undefined;
  mergedCount: number;
  /** Guilds whose alert awaits a credit update, and the timer that will send it. */
  readonly staleGuilds: Set<string>;
  creditTimer: NodeJS.Timeout | undefined;
  /**
   * For each guild with an automatic trigger in the moment, when its first one joined, on the monotonic
   * clock: its delay counts from there, and a wall clock set back cannot put the save off.
   */
  readonly delayFrom: Map<string, number>;
}

/** Late joiners arrive in bursts: update an alert's credits at most this often. */
const CREDIT_UPDATE_DELAY_MS = 1_500;

/** How many merges per moment get their own log line; the rest are summed up. */
const MERGE_LOG_LIMIT = 5;

/**
 * Turns triggers into clips: one moment produces one clip that credits everyone who called it.
 * - A trigger while a save is waiting, running, or within the coalescing window after it joins that clip.
 * - Otherwise a per-stream cooldown applies to automatic triggers (manual /clip ignores it).
 * - An optional per-guild delay lets the reaction into the clip; the clip still belongs to its moment.
 * - Every moment is journalled until all its guilds were told, so a crash mid-clip loses no clip.
 * Every trigger that does not produce its own clip is visible in the event log.
 */
export class ClipService {
  private latest: Moment | undefined;
  private readonly lastAutoClipAt = new Map<string, number>();
  private readonly cooldownLogged = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private lastOutcome: ClipOutcome | undefined;
  /** Aborted at shutdown: moments waiting out a delay are saved at once instead of being lost. */
  private readonly hurry = new AbortController();
  private readonly now: () => Date;

  constructor(private readonly options: ClipServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  private get coalesceWindowMs(): number {
    if (this.options.coalesceWindowMs !== undefined) return this.options.coalesceWindowMs;
    const seconds = this.options.replayBuffer.bufferSeconds();
    return seconds === undefined ? DEFAULT_COALESCE_WINDOW_MS : seconds * 1000;
  }

  get lastClip(): ClipOutcome | undefined {
    return this.lastOutcome;
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
    const cooldownMs = this.options.policyFor(trigger.guildId).cooldownSeconds * 1000;
    if (last !== undefined && trigger.at.getTime() - last < cooldownMs) {
      this.logCooldown(key, trigger, cooldownMs - (trigger.at.getTime() - last));
      return;
    }
    this.lastAutoClipAt.set(key, trigger.at.getTime());
    this.cooldownLogged.delete(key);
    this.startMoment(trigger);
  }

  /**
   * A manual clip: joins a save already waiting or running (same footage), else saves now with no
   * cooldown and no delay. Resolves with the filed clip.
   */
  async clipNow(trigger: Trigger): Promise<ClipOutcome> {
    const latest = this.latest;
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
    const latest = this.latest;
    if (latest?.creditTimer) {
      clearTimeout(latest.creditTimer);
      await this.sendCreditUpdates(latest);
    }
  }

  private scheduleCreditUpdate(moment: Moment, guildId: string): void {
    moment.staleGuilds.add(guildId);
    moment.creditTimer ??= setTimeout(() => void this.sendCreditUpdates(moment), CREDIT_UPDATE_DELAY_MS);
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

  private tryJoin(trigger: Trigger): boolean {
    const moment = this.latest;
    if (!moment) return false;
    const isRecent =
      moment.finishedAt !== undefined && trigger.at.getTime() - moment.finishedAt.getTime() < this.coalesceWindowMs;
    const isOpen =
      moment.state === 'waiting' ||
      moment.state === 'saving' ||
      (moment.state === 'saved' && isRecent) ||
      // While OBS stays down, one "could not clip" notice speaks for the whole burst; once OBS is back,
      // the next trigger clips again.
      (moment.state === 'failed' && isRecent && this.options.replayBuffer.status().connection !== 'connected');
    if (!isOpen) return false;
    moment.triggers.push(trigger);
    noteDelayStart(moment, trigger);
    moment.mergedCount += 1;
    if (moment.result) this.scheduleCreditUpdate(moment, trigger.guildId);
    if (moment.mergedCount <= MERGE_LOG_LIMIT) {
      const first = moment.triggers[0]!.chatter;
      this.options.events.add(trigger.guildId, {
        kind: 'merged',
        stream: trigger.streamer,
        text:
          moment.state === 'failed'
            ? `"${trigger.keyword}" by ${trigger.chatter} not clipped: OBS is still down (same moment as ${first})`
            : `"${trigger.keyword}" by ${trigger.chatter} joined the clip of ${first}`,
      });
    }
    return true;
  }

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

  private startMoment(first: Trigger): Moment {
    const moment: Moment = {
      id: randomUUID(),
      triggers: [first],
      state: 'waiting',
      finishedAt: undefined,
      outcome: undefined as unknown as Promise<ClipOutcome>,
      result: undefined,
      mergedCount: 0,
      staleGuilds: new Set(),
      creditTimer: undefined,
      delayFrom: new Map(),
    };
    noteDelayStart(moment, first);
    this.latest = moment;
    this.options.events.add(first.guildId, {
      kind: 'trigger',
      stream: first.streamer,
      text: first.isManual
        ? `manual clip by ${first.chatter}`
        : `"${first.keyword}" by ${first.chatter}: ${truncate(first.message, 120)}`,
    });
    moment.outcome = this.runMoment(moment);
    const tracked = moment.outcome.catch(() => undefined);
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return moment;
  }

  private async runMoment(moment: Moment): Promise<ClipOutcome> {
    const first = moment.triggers[0]!;
    const { journal } = this.options;
    // Not awaited: the save must not wait on the disk. Writes for one clip land in order.
    void journal.record({ clipId: moment.id, triggers: [...moment.triggers] });
    try {
      if (!first.isManual) await this.waitOutDelays(moment);
      moment.state = 'saving';
      const filed = await this.options.replayBuffer.save(async (replay) => {
        const saved = { clipId: moment.id, triggers: [...moment.triggers], obsPath: replay.path, savedAt: replay.savedAt };
        // Awaited: from here a crash must find OBS's file through the journal.
        await journal.record(saved);
        const filedPath = await this.fileReplay(replay.path, first);
        void journal.record({ ...saved, filedPath });
        return { path: filedPath, savedAt: replay.savedAt };
      });
      moment.state = 'saved';
      moment.finishedAt = this.now();
      const outcome: ClipOutcome = {
        clipId: moment.id,
        path: filed.path,
        fileName: path.basename(filed.path),
        streamer: first.streamer,
        triggers: moment.triggers,
        savedAt: filed.savedAt,
      };
      this.lastOutcome = outcome;
      moment.result = outcome;
      await this.report(moment.triggers, (guildId) => {
        this.options.events.add(guildId, {
          kind: 'save',
          stream: first.streamer,
          text: `saved ${outcome.fileName}${creditSummary(moment.triggers)}`,
        });
        return this.options.reporter.clipSaved(guildId, outcome);
      });
      await journal.finish(moment.id);
      return outcome;
    } catch (err) {
      moment.state = 'failed';
      moment.finishedAt = this.now();
      const reason = explainFailure(err);
      this.options.log.error({ err, streamer: first.streamer }, 'clip failed');
      await this.report(moment.triggers, (guildId) => {
        this.options.events.add(guildId, { kind: 'failure', stream: first.streamer, text: `clip failed: ${reason}` });
        const automatic = moment.triggers.filter((t) => t.guildId === guildId && !t.isManual);
        return automatic.length > 0 ? this.options.reporter.clipFailed(guildId, automatic, reason) : Promise.resolve();
      });
      await journal.finish(moment.id);
      throw err instanceof AppError ? err : new AppError('INTERNAL', reason, { cause: err });
    }
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
        dueAt = Math.max(dueAt, from + this.options.policyFor(guildId).delaySeconds * 1000);
      }
      const waitMs = dueAt - performance.now();
      if (waitMs <= 0) return;
      await sleep(waitMs, this.hurry.signal).catch(() => undefined);
    }
  }

  private fileReplay(sourcePath: string, first: Trigger): Promise<string> {
    return this.options.fileClip({
      sourcePath,
      clipsDir: this.options.clipsDir,
      streamer: first.streamer,
      chatter: first.chatter,
      keyword: first.keyword,
      at: first.at,
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
    this.inFlight.add(recovery);
    void recovery.finally(() => this.inFlight.delete(recovery));
    return recovery;
  }

  private async recover(entry: JournalEntry): Promise<void> {
    const first = entry.triggers[0]!;
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
    const first = entry.triggers[0]!;
    if (entry.filedPath !== undefined && (await exists(entry.filedPath))) return { filedPath: entry.filedPath };
    if (entry.obsPath === undefined) return { reason: 'the bot stopped before OBS saved the moment' };
    if (!(await exists(entry.obsPath))) {
      const folder = path.join(this.options.clipsDir, streamerFolderName(first.streamer));
      return { reason: `the bot stopped while filing the clip; look for it in ${folder}` };
    }
    try {
      return { filedPath: await this.fileReplay(entry.obsPath, first) };
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
