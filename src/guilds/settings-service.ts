import type { Logger } from 'pino';
import type { CaptureMode } from '../capture/clip-capture.js';
import { UserError } from '../util/errors.js';
import type { EventLog } from '../events/event-log.js';
import { compileMatcher, normalizeText, validateKeyword, type KeywordMatcher } from '../triggers/keyword-matcher.js';
import { parseTikTokUsername } from '../monitor/tiktok-username.js';
import { cleanText, truncate } from '../util/text.js';
import type { BotStore } from '../store/bot-store.js';
import {
  defaultSettings,
  isCaptureMode,
  isHypeSensitivity,
  SETTINGS_LIMITS,
  type GuildSettings,
  type HypeSensitivity,
  type KeywordMode,
  type StreamEntry,
} from '../store/settings-schema.js';

/** What the settings service tells the stream monitor when a guild's streams change. */
export interface StreamWatcher {
  watch(guildId: string, username: string): void;
  unwatch(guildId: string, username: string): Promise<void>;
}

export interface GuildSettingsDeps {
  readonly store: BotStore;
  readonly watcher: StreamWatcher;
  readonly events: EventLog;
  readonly log: Logger;
  /** Why stream capture cannot be chosen (no ffmpeg), or undefined when it can. */
  readonly streamCaptureRefusal?: () => string | undefined;
  /** A stream's effective capture may have changed (its buffer starts or stops accordingly). */
  readonly onCaptureChanged?: (guildId: string) => void;
  /** The guild's stored settings changed here (a cluster tells its other nodes). */
  readonly onChanged?: (guildId: string) => void;
}

/**
 * The one place guild settings change. Each change is validated, written through the store's per-guild
 * lock (so concurrent commands never lose an update), mirrored in memory for the hot path (matchers,
 * cooldowns) and applied to the stream monitor.
 *
 * Only `open()` builds one, and it resolves once every stored guild is in memory: whatever holds the
 * service (delivery, clips, commands) can therefore never see defaults standing in for a guild that is
 * stored but not read yet (issue 16: a restart's outbox once dropped its alerts that way). A guild
 * `get()` does not know had nothing stored when the service opened.
 */
export class GuildSettingsService {
  private readonly cache = new Map<string, GuildSettings>();
  private readonly matchers = new Map<string, KeywordMatcher>();

  private constructor(private readonly deps: GuildSettingsDeps) {}

  /**
   * Reads every stored guild, then resolves with the service. A store that cannot be read rejects
   * (the bot does not start on half its settings). Streams are not watched yet: see `resumeAll()`.
   */
  static async open(deps: GuildSettingsDeps): Promise<GuildSettingsService> {
    const service = new GuildSettingsService(deps);
    for (const guildId of await deps.store.guildIds()) service.remember(await deps.store.get(guildId));
    return service;
  }

  /** The capture a stream uses in this guild: its own choice, else the guild's default. */
  captureOf(guildId: string, username: string): CaptureMode {
    const settings = this.get(guildId);
    return settings.streams.find((s) => s.username === username)?.capture ?? settings.captureMode;
  }

  /** Starts watching every stored stream (a restart resumes everything); resolves with how many. */
  resumeAll(): number {
    let streams = 0;
    for (const settings of this.cache.values()) {
      for (const stream of settings.streams) {
        this.deps.watcher.watch(settings.guildId, stream.username);
        streams += 1;
      }
    }
    return streams;
  }

  /** Reads a guild again from the store: another node of a cluster changed it. */
  async refresh(guildId: string): Promise<void> {
    this.remember(await this.deps.store.get(guildId));
    this.deps.onCaptureChanged?.(guildId);
  }

  /** The guilds known here that watch this TikTok user. */
  guildsWatching(username: string): string[] {
    return this.knownGuildIds().filter((guildId) => this.get(guildId).streams.some((s) => s.username === username));
  }

  /** The guild's settings from memory: every stored guild was read at open(), so defaults mean "never configured". */
  get(guildId: string): GuildSettings {
    return this.cache.get(guildId) ?? defaultSettings(guildId);
  }

  /** Reads through to the store the first time a guild is seen in this process. */
  async load(guildId: string): Promise<GuildSettings> {
    const cached = this.cache.get(guildId);
    if (cached) return cached;
    const settings = await this.deps.store.get(guildId);
    this.remember(settings);
    return settings;
  }

  /** Every guild this process has settings for (stored or touched since start). */
  /** For /healthz: OBS matters when some stream uses `obs` capture, or no stream uses `stream` capture. */
  isObsCaptureNeeded(): boolean {
    let usesStream = false;
    for (const guildId of this.knownGuildIds()) {
      for (const { username } of this.get(guildId).streams) {
        if (this.captureOf(guildId, username) === 'obs') return true;
        usesStream = true;
      }
    }
    return !usesStream;
  }

  knownGuildIds(): string[] {
    return [...this.cache.keys()];
  }

  matcherFor(guildId: string): KeywordMatcher | undefined {
    return this.matchers.get(guildId);
  }

  async addStream(
    guildId: string,
    rawUsername: string,
    addedChannelId: string,
    addedBy: string,
    capture?: CaptureMode,
  ): Promise<string> {
    const username = parseTikTokUsername(rawUsername);
    if (capture === 'stream') this.refuseStreamCaptureIfUnavailable();
    await this.update(guildId, (s) => {
      if (s.streams.some((e) => e.username === username)) {
        throw new UserError('DUPLICATE', `@${username} is already watched.`);
      }
      if (s.streams.length >= SETTINGS_LIMITS.maxStreams) {
        throw new UserError('INVALID_SETTING', `A server can watch at most ${SETTINGS_LIMITS.maxStreams} streams.`);
      }
      const entry: StreamEntry = {
        username,
        addedChannelId,
        addedBy,
        addedAt: new Date().toISOString(),
        ...(capture === undefined ? {} : { capture }),
      };
      return { ...s, streams: [...s.streams, entry] };
    });
    this.deps.watcher.watch(guildId, username);
    this.deps.events.add(guildId, { kind: 'config', stream: username, text: `now watching @${username}` });
    return username;
  }

  async removeStream(guildId: string, rawUsername: string): Promise<string> {
    const username = parseTikTokUsername(rawUsername);
    await this.update(guildId, (s) => {
      if (!s.streams.some((e) => e.username === username)) {
        throw new UserError('NOT_FOUND', `@${username} is not watched here. \`/stream list\` shows the streams.`);
      }
      return { ...s, streams: s.streams.filter((e) => e.username !== username) };
    });
    await this.deps.watcher.unwatch(guildId, username);
    this.deps.events.add(guildId, { kind: 'config', stream: username, text: `stopped watching @${username}` });
    return username;
  }

  async addKeyword(guildId: string, rawWord: string, mode: KeywordMode): Promise<string> {
    const word = validateKeyword(rawWord);
    await this.update(guildId, (s) => {
      const folded = normalizeText(word);
      if (s.keywords.some((k) => normalizeText(k.word) === folded)) {
        throw new UserError('DUPLICATE', `\`${word}\` is already a keyword.`);
      }
      if (s.keywords.length >= SETTINGS_LIMITS.maxKeywords) {
        throw new UserError('INVALID_SETTING', `A server can have at most ${SETTINGS_LIMITS.maxKeywords} keywords.`);
      }
      return { ...s, keywords: [...s.keywords, { word, mode }] };
    });
    this.deps.events.add(guildId, { kind: 'config', stream: undefined, text: `keyword added: ${word} (${mode})` });
    return word;
  }

  async removeKeyword(guildId: string, rawWord: string): Promise<string> {
    const folded = normalizeText(rawWord.trim());
    let removed = rawWord.trim();
    await this.update(guildId, (s) => {
      const match = s.keywords.find((k) => normalizeText(k.word) === folded);
      if (!match) throw new UserError('NOT_FOUND', `\`${truncate(cleanText(removed), 100)}\` is not a keyword here.`);
      removed = match.word;
      return { ...s, keywords: s.keywords.filter((k) => k !== match) };
    });
    this.deps.events.add(guildId, { kind: 'config', stream: undefined, text: `keyword removed: ${removed}` });
    return removed;
  }

  async setAlertChannel(guildId: string, channelId: string): Promise<void> {
    await this.update(guildId, (s) => ({ ...s, alertChannelId: channelId }));
  }

  async setModeratorRole(guildId: string, roleId: string): Promise<void> {
    await this.update(guildId, (s) => ({ ...s, moderatorRoleId: roleId }));
  }

  async setCooldown(guildId: string, seconds: number): Promise<void> {
    checkRange('cooldown', seconds, SETTINGS_LIMITS.maxCooldownSeconds);
    await this.update(guildId, (s) => ({ ...s, cooldownSeconds: seconds }));
  }

  async setDelay(guildId: string, seconds: number): Promise<void> {
    checkRange('delay', seconds, SETTINGS_LIMITS.maxDelaySeconds);
    await this.update(guildId, (s) => ({ ...s, delaySeconds: seconds }));
  }

  async setCaptureMode(guildId: string, mode: CaptureMode): Promise<void> {
    if (!isCaptureMode(mode)) throw new UserError('INVALID_SETTING', 'The capture must be `obs` or `stream`.');
    if (mode === 'stream') this.refuseStreamCaptureIfUnavailable();
    await this.update(guildId, (s) => ({ ...s, captureMode: mode }));
    this.deps.events.add(guildId, { kind: 'config', stream: undefined, text: `capture: ${mode}` });
    this.deps.onCaptureChanged?.(guildId);
  }

  async setWindow(guildId: string, beforeSeconds: number, afterSeconds: number): Promise<void> {
    checkRange('window before', beforeSeconds, SETTINGS_LIMITS.maxWindowBeforeSeconds);
    checkRange('window after', afterSeconds, SETTINGS_LIMITS.maxWindowAfterSeconds);
    if (beforeSeconds + afterSeconds === 0) throw new UserError('INVALID_SETTING', 'The window must hold at least one second.');
    await this.update(guildId, (s) => ({ ...s, windowBeforeSeconds: beforeSeconds, windowAfterSeconds: afterSeconds }));
  }

  private refuseStreamCaptureIfUnavailable(): void {
    const refusal = this.deps.streamCaptureRefusal?.();
    if (refusal !== undefined) throw new UserError('FFMPEG_MISSING', refusal);
  }

  /** Undefined: clips marked Keep are posted nowhere else. */
  async setHighlightsChannel(guildId: string, channelId: string | undefined): Promise<void> {
    await this.update(guildId, (s) => ({ ...s, highlightsChannelId: channelId }));
    this.deps.events.add(guildId, { kind: 'config', stream: undefined, text: channelId ? `highlights channel: ${channelId}` : 'highlights channel unset' });
  }

  async setRecapEnabled(guildId: string, isOn: boolean): Promise<void> {
    await this.update(guildId, (s) => ({ ...s, recapEnabled: isOn }));
    this.deps.events.add(guildId, { kind: 'config', stream: undefined, text: `recap ${isOn ? 'on' : 'off'}` });
  }

  async setNotifyLive(guildId: string, isOn: boolean): Promise<void> {
    await this.update(guildId, (s) => ({ ...s, notifyLive: isOn }));
  }

  /** 0 turns the gift trigger off. */
  async setGiftMinDiamonds(guildId: string, diamonds: number): Promise<void> {
    const max = SETTINGS_LIMITS.maxGiftMinDiamonds;
    if (!Number.isInteger(diamonds) || diamonds < 0 || diamonds > max) {
      throw new UserError('INVALID_SETTING', `The gift threshold must be a whole number of diamonds from 0 to ${max}.`);
    }
    await this.update(guildId, (s) => ({ ...s, giftMinDiamonds: diamonds }));
    const text = diamonds === 0 ? 'gift trigger off' : `gift trigger: ${diamonds} diamonds`;
    this.deps.events.add(guildId, { kind: 'config', stream: undefined, text });
  }

  async setHypeSensitivity(guildId: string, sensitivity: HypeSensitivity): Promise<void> {
    if (!isHypeSensitivity(sensitivity)) {
      throw new UserError('INVALID_SETTING', 'Hype sensitivity must be off, low, medium or high.');
    }
    await this.update(guildId, (s) => ({ ...s, hypeSensitivity: sensitivity }));
    this.deps.events.add(guildId, { kind: 'config', stream: undefined, text: `hype trigger: ${sensitivity}` });
  }

  private async update(guildId: string, change: (current: GuildSettings) => GuildSettings): Promise<GuildSettings> {
    const updated = await this.deps.store.update(guildId, change);
    this.remember(updated);
    this.deps.onChanged?.(guildId);
    return updated;
  }

  private remember(settings: GuildSettings): void {
    const previous = this.cache.get(settings.guildId);
    this.cache.set(settings.guildId, settings);
    // Rebuild the matcher only when the keywords changed, never per message.
    if (!previous || JSON.stringify(previous.keywords) !== JSON.stringify(settings.keywords)) {
      this.matchers.set(settings.guildId, compileMatcher(settings.keywords));
    }
  }
}

function checkRange(name: string, seconds: number, max: number): void {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > max) {
    throw new UserError('INVALID_SETTING', `The ${name} must be a whole number of seconds from 0 to ${max}.`);
  }
}
