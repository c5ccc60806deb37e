import type Keyv from 'keyv';
import type { Logger } from 'pino';
import { AppError, UserError } from '../util/errors.js';
import { sleep } from '../util/sleep.js';
import type { ConditionalWriter } from './conditional-write.js';
import { KeyedLock } from './keyed-lock.js';
import { STORE_NAMESPACE, openKeyv } from './keyv-backend.js';
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
  UNREADABLE,
  type Repaired,
} from './settings-schema.js';

export type { ClipRecord, GuildSettings, KeywordEntry, KeywordMode, StreamEntry } from './settings-schema.js';
export { SETTINGS_DEFAULTS, SETTINGS_LIMITS, defaultSettings } from './settings-schema.js';

/** How many clips each guild's archive keeps (newest first); older records fall off, files stay on disk. */
export const CLIP_ARCHIVE_LIMIT = 200;
const DEFAULT_RECENT_CLIPS = 10;

/** Conditional writes that lost to another process are retried this often before giving up. */
const CONFLICT_RETRY = { attempts: 50, maxPauseMs: 20 } as const satisfies Record<string, number>;

/** What a member is told when the database cannot be read or written; nothing was changed. */
const STORAGE_UNAVAILABLE_TEXT = 'Storage unavailable: the settings database cannot be reached right now. Nothing was changed; try again in a moment.';

/** Keys inside the store's namespace. Exported for tests that plant raw rows. */
export const storeKeys = {
  settings: (guildId: string) => `guild:${guildId}:settings`,
  clips: (guildId: string) => `guild:${guildId}:clips`,
  guildIndex: 'index:guilds',
} as const;

/** What a read-modify-write returns to leave the row as it is (nothing is written). */
export const KEEP_ROW: unique symbol = Symbol('keep row');

/** What `rows().modify` resolves with: the row written, or undefined where the change could keep it. */
export type Modified<T> = typeof KEEP_ROW extends T ? Exclude<T, typeof KEEP_ROW> | undefined : T;

/** Plain rows in the store's namespace (see BotStore.rows). */
export interface StoreRows {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Read-modify-write that is atomic also across processes sharing the database (a compare-and-set,
   * `change` re-applied when another writer got in between, so it must be a pure function of `current`).
   * Resolves with what was written; `change` returns KEEP_ROW to write nothing (then: undefined).
   */
  modify<T>(key: string, change: (current: unknown) => T): Promise<Modified<T>>;
}

/**
 * Per-guild configuration and the clip archive, on Keyv.
 *
 * Every read-modify-write (settings, clip archive, guild index) is a compare-and-set on the row
 * (src/store/conditional-write.ts): it writes only if the row is still what it read, and otherwise reads
 * again and re-applies the change. So two bots on one database (or two store instances) lose no edit.
 * Inside one process an in-process lock per key also queues the edits, so they rarely conflict.
 * Lock order is always guild → index, never the reverse, so the two can't deadlock.
 *
 * A read or write the database fails rejects with UserError('STORAGE_UNAVAILABLE'): a failed read never
 * looks like an empty guild, so no update can write defaults over the real settings.
 */
export class BotStore {
  readonly #keyv: Keyv;
  readonly #writer: ConditionalWriter;
  readonly #log: Logger;
  readonly #lock = new KeyedLock();
  /** Guilds known to be in the stored index, so most updates skip re-reading it. */
  readonly #indexed = new Set<string>();
  #isClosed = false;

  private constructor(keyv: Keyv, writer: ConditionalWriter, log: Logger) {
    this.#keyv = keyv;
    this.#writer = writer;
    this.#log = log;
  }

  /**
   * Opens the store named by DATABASE_URL: `sqlite://data/bot.sqlite` (relative to the working folder;
   * the folder is created), `sqlite:///abs/path.sqlite`, or `redis://` / `postgres://` when @keyv/redis /
   * @keyv/postgres is installed. Rejects with AppError('CONFIG_INVALID') naming what to fix.
   */
  static async open(databaseUrl: string, log: Logger): Promise<BotStore> {
    const storeLog = log.child({ component: 'settings-store' });
    const { keyv, writer } = await openKeyv(databaseUrl, storeLog);
    return new BotStore(keyv, writer, storeLog);
  }

  /** The guild's settings; defaults when nothing is stored. */
  async get(guildId: string): Promise<GuildSettings> {
    this.#assertUsable(guildId);
    return this.#readSettings(guildId);
  }

  /**
   * Applies `change` to the current settings and stores the result, resolving once it is written.
   * Atomic per guild, also across processes: when another writer got in between, `change` is applied
   * again to what it wrote, so `change` must be a pure function of `current` (it may run more than once).
   * If `change` throws (a UserError for a duplicate, say) or returns invalid settings
   * (AppError('INVALID_SETTING')), nothing is written and the error propagates.
   */
  async update(guildId: string, change: (current: GuildSettings) => GuildSettings): Promise<GuildSettings> {
    this.#assertUsable(guildId);
    return this.#lock.run(storeKeys.settings(guildId), async () => {
      return this.#modify(
        storeKeys.settings(guildId),
        (raw) => {
          const current = this.#reportRepairs(readSettingsRow(guildId, raw), { guildId, key: 'settings' });
          const { row, settings } = toSettingsRow(guildId, change(current));
          return { row, result: settings };
        },
        // Index first, once the change is known to be valid: if the process dies between the two
        // writes, the guild is listed with default settings (harmless) rather than having settings
        // nobody resumes at start-up.
        () => this.#ensureIndexed(guildId),
      );
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
    await this.#lock.run(storeKeys.clips(guildId), () =>
      this.#modify(storeKeys.clips(guildId), (raw) => {
        const clips = this.#reportRepairs(readClipsRow(raw), { guildId, key: 'clips' });
        const next = [record, ...clips.filter((existing) => existing.id !== record.id)].slice(0, CLIP_ARCHIVE_LIMIT);
        return { row: { v: SCHEMA_VERSION, clips: next }, result: undefined };
      }),
    );
  }

  /** Marks an archived clip as posted to Discord. Rejects with AppError('NOT_FOUND') if it is not archived. */
  async markClipPosted(guildId: string, clipId: string): Promise<void> {
    this.#assertUsable(guildId);
    await this.#lock.run(storeKeys.clips(guildId), () =>
      this.#modify(storeKeys.clips(guildId), (raw) => {
        const clips = this.#reportRepairs(readClipsRow(raw), { guildId, key: 'clips' });
        const index = clips.findIndex((clip) => clip.id === clipId);
        const found = clips[index];
        if (found === undefined) {
          throw new AppError('NOT_FOUND', `clip ${clipId} is not in guild ${guildId}'s archive`);
        }
        if (found.posted) return { row: KEEP_ROW, result: undefined };
        return { row: { v: SCHEMA_VERSION, clips: clips.with(index, { ...found, posted: true }) }, result: undefined };
      }),
    );
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

  /**
   * Raw rows beside the settings, for other concerns that must live in the same store (the delivery
   * outbox, src/delivery/outbox.ts). Keys are the caller's own (never `guild:*` or `index:*`); `modify`
   * serializes read-modify-writes per key like the settings' own updates, and close() waits for them.
   */
  rows(): StoreRows {
    return {
      get: (key) => {
        this.#assertOpen();
        return this.#read(key);
      },
      set: (key, value) => {
        this.#assertOpen();
        return this.#write(key, value);
      },
      delete: async (key) => {
        this.#assertOpen();
        await this.#keyv.delete(key);
      },
      modify: <T>(key: string, change: (current: unknown) => T) => {
        this.#assertOpen();
        return this.#lock.run(key, () =>
          this.#modify(key, (raw): { row: unknown; result: Modified<T> } => {
            const row = change(raw);
            // KEEP_ROW is only a possible T when Modified<T> includes undefined.
            return { row, result: (row === KEEP_ROW ? undefined : row) as Modified<T> };
          }),
        );
      },
    };
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
      // Another process may add its guild at the same moment: the conditional write keeps both.
      await this.#modify(storeKeys.guildIndex, (raw) => {
        const stored = this.#reportRepairs(readGuildIndexRow(raw), { key: 'guild index' });
        if (stored.includes(guildId)) return { row: KEEP_ROW, result: undefined };
        return { row: { v: SCHEMA_VERSION, guildIds: [...stored, guildId] }, result: undefined };
      });
      this.#indexed.add(guildId);
    });
  }

  /**
   * Compare-and-set loop on one row: read its stored text, let `decide` build the next row from the
   * parsed value, and write it only if the row still holds what was read; otherwise start over. `decide`
   * may throw to write nothing, or return KEEP_ROW; `beforeWrite` runs before each conditional write.
   */
  async #modify<R>(
    key: string,
    decide: (raw: unknown) => { row: unknown; result: R },
    beforeWrite?: () => Promise<void>,
  ): Promise<R> {
    const storedKey = `${STORE_NAMESPACE}:${key}`;
    for (let attempt = 1; ; attempt++) {
      const text = await this.#storage(key, () => this.#writer.readRaw(storedKey));
      const { row, result } = decide(text === undefined ? undefined : parseStoredValue(text));
      if (row === KEEP_ROW) return result;
      // The same shape Keyv writes (its serializer on `{ value }`), so Keyv reads it back as usual.
      const next = JSON.stringify({ value: row });
      await beforeWrite?.();
      if (await this.#storage(key, () => this.#writer.compareAndSet(storedKey, text, next))) return result;
      if (attempt >= CONFLICT_RETRY.attempts) {
        throw new UserError(
          'STORAGE_CONFLICT',
          'Another bot kept changing the same settings at the same moment, so this change was not saved. Try again.',
        );
      }
      this.#log.debug({ key, attempt }, 'row changed by another writer; reading it again');
      await sleep(Math.random() * CONFLICT_RETRY.maxPauseMs);
    }
  }

  async #storage<T>(key: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      this.#log.warn({ err, key }, 'settings store unreachable');
      throw new UserError('STORAGE_UNAVAILABLE', STORAGE_UNAVAILABLE_TEXT, { cause: err });
    }
  }

  #reportRepairs<T>(repaired: Repaired<T>, where: { guildId?: string; key: string }): T {
    if (repaired.problems.length > 0) {
      // The repaired value is used from now on and written back on the next update.
      this.#log.warn({ ...where, problems: repaired.problems }, 'stored row was invalid; repaired on read');
    }
    return repaired.value;
  }

  async #read(key: string): Promise<unknown> {
    return this.#storage(key, () => this.#keyv.get<unknown>(key));
  }

  async #write(key: string, value: unknown): Promise<void> {
    const isWritten = await this.#storage(key, () => this.#keyv.set(key, value));
    if (!isWritten) {
      this.#log.warn({ key }, 'settings store refused a write');
      throw new UserError('STORAGE_UNAVAILABLE', STORAGE_UNAVAILABLE_TEXT);
    }
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

/** The value inside a row's stored text, parsed as the Keyv deserializer does (see keyv-backend.ts). */
function parseStoredValue(text: string): unknown {
  try {
    return (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    return UNREADABLE;
  }
}
