import type Keyv from 'keyv';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { KeyedLock } from './keyed-lock.js';
import { openKeyv } from './keyv-backend.js';
import {
  SCHEMA_VERSION,
  isId,
  readClipsRow,
  readGuildIndexRow,
  readSettingsRow,
  toClipRecord,
  toSettingsRow,
  type ClipRecord,
  type GuildSettings,
  type Repaired,
} from './settings-schema.js';

export type { ClipRecord, GuildSettings, KeywordEntry, KeywordMode, StreamEntry } from './settings-schema.js';
export { SETTINGS_DEFAULTS, SETTINGS_LIMITS, defaultSettings } from './settings-schema.js';

/** How many clips each guild's archive keeps (newest first); older records fall off, files stay on disk. */
export const CLIP_ARCHIVE_LIMIT = 200;
const DEFAULT_RECENT_CLIPS = 10;

/** Keys inside the store's namespace. Exported for tests that plant raw rows. */
export const storeKeys = {
  settings: (guildId: string) => `guild:${guildId}:settings`,
  clips: (guildId: string) => `guild:${guildId}:clips`,
  guildIndex: 'index:guilds',
} as const;

/**
 * Per-guild configuration and the clip archive, on Keyv.
 *
 * Keyv has no transactions, so every read-modify-write runs under an in-process lock per key: two
 * commands changing the same guild at once are applied one after the other and both are kept. This holds
 * for one bot process per database, which is how the bot is deployed (it drives one local OBS).
 * Lock order is always guild → index, never the reverse, so the two can't deadlock.
 */
export class SettingsStore {
  readonly #keyv: Keyv;
  readonly #log: Logger;
  readonly #lock = new KeyedLock();
  /** Guilds known to be in the stored index, so most updates skip re-reading it. */
  readonly #indexed = new Set<string>();
  #isClosed = false;

  private constructor(keyv: Keyv, log: Logger) {
    this.#keyv = keyv;
    this.#log = log;
  }

  /**
   * Opens the store named by DATABASE_URL: `sqlite://data/bot.sqlite` (relative to the working folder;
   * the folder is created), `sqlite:///abs/path.sqlite`, or `redis://` / `postgres://` when @keyv/redis /
   * @keyv/postgres is installed. Rejects with AppError('CONFIG_INVALID') naming what to fix.
   */
  static async open(databaseUrl: string, log: Logger): Promise<SettingsStore> {
    const storeLog = log.child({ component: 'settings-store' });
    const keyv = await openKeyv(databaseUrl, storeLog);
    return new SettingsStore(keyv, storeLog);
  }

  /** The guild's settings; defaults when nothing is stored. */
  async get(guildId: string): Promise<GuildSettings> {
    this.#assertUsable(guildId);
    return this.#readSettings(guildId);
  }

  /**
   * Applies `change` to the current settings and stores the result, resolving once it is written.
   * Serialized per guild. If `change` throws (a UserError for a duplicate, say) or returns invalid
   * settings (AppError('INVALID_SETTING')), nothing is written and the error propagates.
   */
  async update(guildId: string, change: (current: GuildSettings) => GuildSettings): Promise<GuildSettings> {
    this.#assertUsable(guildId);
    return this.#lock.run(storeKeys.settings(guildId), async () => {
      const current = await this.#readSettings(guildId);
      const { row, settings } = toSettingsRow(guildId, change(current));
      // Index first: if the process dies between the two writes, the guild is listed with default
      // settings (harmless) rather than having settings nobody resumes at start-up.
      await this.#ensureIndexed(guildId);
      await this.#write(storeKeys.settings(guildId), row);
      return settings;
    });
  }

  /** Every guild with stored settings, for resuming streams at start-up. */
  async guildIds(): Promise<string[]> {
    this.#assertOpen();
    return this.#lock.run(storeKeys.guildIndex, async () => [...(await this.#readIndex())]);
  }

  /** Archives a clip (newest first, the last CLIP_ARCHIVE_LIMIT per guild). A repeated id replaces the old record. */
  async recordClip(guildId: string, clip: ClipRecord): Promise<void> {
    this.#assertUsable(guildId);
    const record = toClipRecord(guildId, clip);
    await this.#lock.run(storeKeys.clips(guildId), async () => {
      const clips = await this.#readClips(guildId);
      const next = [record, ...clips.filter((existing) => existing.id !== record.id)].slice(0, CLIP_ARCHIVE_LIMIT);
      await this.#write(storeKeys.clips(guildId), { v: SCHEMA_VERSION, clips: next });
    });
  }

  /** Marks an archived clip as posted to Discord. Rejects with AppError('NOT_FOUND') if it is not archived. */
  async markClipPosted(guildId: string, clipId: string): Promise<void> {
    this.#assertUsable(guildId);
    await this.#lock.run(storeKeys.clips(guildId), async () => {
      const clips = await this.#readClips(guildId);
      const index = clips.findIndex((clip) => clip.id === clipId);
      const found = clips[index];
      if (found === undefined) {
        throw new AppError('NOT_FOUND', `clip ${clipId} is not in guild ${guildId}'s archive`);
      }
      if (found.posted) return;
      const next = clips.with(index, { ...found, posted: true });
      await this.#write(storeKeys.clips(guildId), { v: SCHEMA_VERSION, clips: next });
    });
  }

  /**
   * The guild's most recent clips, newest first; `streamer` filters by handle (case-insensitive, `@`
   * optional), `limit` defaults to 10 and is capped at the archive size.
   */
  async recentClips(guildId: string, options: { streamer?: string; limit?: number } = {}): Promise<ClipRecord[]> {
    this.#assertUsable(guildId);
    const limit = Math.max(0, Math.min(CLIP_ARCHIVE_LIMIT, Math.floor(options.limit ?? DEFAULT_RECENT_CLIPS)));
    const streamer = options.streamer?.trim().replace(/^@/, '').toLowerCase();
    const clips = await this.#readClips(guildId);
    const matching = streamer ? clips.filter((clip) => clip.streamer.toLowerCase() === streamer) : clips;
    return matching.slice(0, limit);
  }

  /** Waits for writes in flight, then disconnects. Later calls reject. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    await this.#lock.drain();
    await this.#keyv.disconnect();
  }

  // -------------------------------------------------------------------------------------------------

  async #readSettings(guildId: string): Promise<GuildSettings> {
    const raw = await this.#read(storeKeys.settings(guildId));
    return this.#reportRepairs(readSettingsRow(guildId, raw), { guildId, key: 'settings' });
  }

  async #readClips(guildId: string): Promise<ClipRecord[]> {
    const raw = await this.#read(storeKeys.clips(guildId));
    return this.#reportRepairs(readClipsRow(raw), { guildId, key: 'clips' });
  }

  /** Call under the index lock. */
  async #readIndex(): Promise<string[]> {
    const raw = await this.#read(storeKeys.guildIndex);
    const repaired = readGuildIndexRow(raw);
    let ids = this.#reportRepairs(repaired, { key: 'guild index' });
    // The index is what start-up resumes from, so a missing or damaged one is rebuilt from the settings
    // rows themselves (where the backend can list keys) rather than silently forgetting guilds.
    if (raw === undefined || repaired.problems.length > 0) {
      const found = await this.#scanSettingsGuilds();
      const missing = found.filter((id) => !ids.includes(id));
      if (missing.length > 0) {
        this.#log.warn({ recovered: missing.length }, 'guild index rebuilt from stored settings');
        ids = [...ids, ...missing];
        await this.#write(storeKeys.guildIndex, { v: SCHEMA_VERSION, guildIds: ids });
      }
    }
    for (const id of ids) this.#indexed.add(id);
    return ids;
  }

  async #scanSettingsGuilds(): Promise<string[]> {
    if (typeof this.#keyv.iterator !== 'function') return [];
    const ids: string[] = [];
    try {
      // The generated iterator ignores its argument and lists our namespace.
      for await (const [key] of this.#keyv.iterator(undefined) as AsyncIterable<[unknown, unknown]>) {
        const match = typeof key === 'string' ? /^guild:(.+):settings$/.exec(key) : null;
        if (match?.[1] !== undefined) ids.push(match[1]);
      }
    } catch (err) {
      this.#log.warn({ err }, 'could not list stored settings to rebuild the guild index');
    }
    return ids;
  }

  async #ensureIndexed(guildId: string): Promise<void> {
    if (this.#indexed.has(guildId)) return;
    await this.#lock.run(storeKeys.guildIndex, async () => {
      const ids = await this.#readIndex();
      if (ids.includes(guildId)) return;
      await this.#write(storeKeys.guildIndex, { v: SCHEMA_VERSION, guildIds: [...ids, guildId] });
      this.#indexed.add(guildId);
    });
  }

  #reportRepairs<T>(repaired: Repaired<T>, where: { guildId?: string; key: string }): T {
    if (repaired.problems.length > 0) {
      // The repaired value is used from now on and written back on the next update.
      this.#log.warn({ ...where, problems: repaired.problems }, 'stored row was invalid; repaired on read');
    }
    return repaired.value;
  }

  async #read(key: string): Promise<unknown> {
    try {
      return await this.#keyv.get<unknown>(key);
    } catch (err) {
      throw new AppError('INTERNAL', `settings store read failed (${key})`, { cause: err });
    }
  }

  async #write(key: string, value: unknown): Promise<void> {
    let isWritten: boolean;
    try {
      isWritten = await this.#keyv.set(key, value);
    } catch (err) {
      throw new AppError('INTERNAL', `settings store write failed (${key})`, { cause: err });
    }
    if (!isWritten) throw new AppError('INTERNAL', `settings store refused the write (${key})`);
  }

  #assertOpen(): void {
    if (this.#isClosed) throw new AppError('INTERNAL', 'the settings store is closed');
  }

  #assertUsable(guildId: string): void {
    this.#assertOpen();
    if (!isId(guildId) || /[:\s]/.test(guildId)) {
      throw new AppError('INVALID_SETTING', `not a valid guild id: ${JSON.stringify(guildId)}`);
    }
  }
}
