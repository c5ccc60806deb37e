import type { CaptureMode } from '../capture/clip-capture.js';
import { AppError } from '../util/errors.js';
import { hasVisibleCharacter } from '../util/text.js';

/**
 * The shapes the store holds, and the two ways values cross its boundary:
 * - reading is lenient: a corrupt or older-shaped row never crashes the bot; defaults are filled in,
 *   invalid entries dropped, and every repair reported so the store can log it;
 * - writing is strict: a value that would not read back unchanged is a programming error and is refused
 *   before anything is written.
 * Only the fields below are ever stored (unknown fields are dropped), which is what keeps secrets out.
 */

export type KeywordMode = 'contains' | 'word';

export interface KeywordEntry {
  readonly word: string;
  readonly mode: KeywordMode;
}

export interface StreamEntry {
  readonly username: string;
  readonly addedChannelId: string;
  readonly addedBy: string;
  /** ISO 8601. */
  readonly addedAt: string;
  /** This stream's capture; unset: the guild's `captureMode`. */
  readonly capture?: CaptureMode;
}

export interface GuildSettings {
  readonly guildId: string;
  readonly streams: readonly StreamEntry[];
  readonly keywords: readonly KeywordEntry[];
  readonly alertChannelId: string | undefined;
  readonly moderatorRoleId: string | undefined;
  readonly cooldownSeconds: number;
  readonly delaySeconds: number;
  readonly notifyLive: boolean;
  /** Gift trigger: clip a gift (or finished streak, or gifts adding up in 10 s) worth this many diamonds; 0 = off. */
  readonly giftMinDiamonds: number;
  /** Hype trigger: how eagerly a sudden burst of chat clips. */
  readonly hypeSensitivity: HypeSensitivity;
  /** The default capture of the guild's streams: OBS's replay buffer or the LIVE's own video. */
  readonly captureMode: CaptureMode;
  /** Stream capture: seconds kept before and after the trigger. */
  readonly windowBeforeSeconds: number;
  readonly windowAfterSeconds: number;
  /** Where clips marked Keep on an alert are posted too; none by default. */
  readonly highlightsChannelId: string | undefined;
  /** Post a recap when a watched LIVE ends. */
  readonly recapEnabled: boolean;
}

export type HypeSensitivity = 'off' | 'low' | 'medium' | 'high';
export const HYPE_SENSITIVITIES: readonly HypeSensitivity[] = ['off', 'low', 'medium', 'high'];

/**
 * Which node of a cluster (CLUSTER=true) filed a clip: its file is on that machine's clips folder. The
 * node id changes when the node restarts; its host and clips folder do not, so a restarted node still
 * finds its clips. Absent when the bot runs alone.
 */
export interface FiledOn {
  readonly node: string;
  readonly host: string;
  readonly clipsDir: string;
}

export interface ClipRecord {
  readonly id: string;
  readonly streamer: string;
  readonly path: string;
  readonly fileName: string;
  readonly chatters: readonly string[];
  readonly keywords: readonly string[];
  readonly message: string;
  readonly manual: boolean;
  readonly note?: string;
  readonly triggeredBy: string;
  /** ISO 8601. */
  readonly at: string;
  readonly posted: boolean;
  readonly filedOn?: FiledOn;
}

/** The version written into every stored row; bump it and add a migration in `readSettingsRow`. */
export const SCHEMA_VERSION = 1;

export const SETTINGS_DEFAULTS = {
  cooldownSeconds: 30,
  delaySeconds: 0,
  notifyLive: false,
  giftMinDiamonds: 0,
  hypeSensitivity: 'off',
  captureMode: 'obs',
  windowBeforeSeconds: 20,
  windowAfterSeconds: 5,
  recapEnabled: false,
} as const satisfies Partial<GuildSettings>;

/** Bounds enforced on write; commands can use them to word their own validation. */
export const SETTINGS_LIMITS = {
  maxCooldownSeconds: 86_400,
  maxDelaySeconds: 3_600,
  maxStreams: 100,
  maxKeywords: 500,
  /** In code points (what a member would call characters), after trimming. */
  maxKeywordLength: 100,
  maxIdLength: 100,
  maxGiftMinDiamonds: 10_000_000,
  /** A stream buffer holds 60 s by default; a window longer than that would always come out short. */
  maxWindowBeforeSeconds: 55,
  maxWindowAfterSeconds: 30,
} as const;

const EPOCH_ISO = new Date(0).toISOString();
const KEYWORD_MODES: readonly KeywordMode[] = ['contains', 'word'];

export function defaultSettings(guildId: string): GuildSettings {
  return freezeSettings({
    guildId,
    streams: [],
    keywords: [],
    alertChannelId: undefined,
    moderatorRoleId: undefined,
    highlightsChannelId: undefined,
    ...SETTINGS_DEFAULTS,
  });
}

// ---------------------------------------------------------------------------------------------------
// Reading (lenient)

export interface Repaired<T> {
  readonly value: T;
  /** Human-readable notes about what was repaired; empty when the row was clean. */
  readonly problems: readonly string[];
}

/** A value that could not even be parsed as JSON; the Keyv deserializer produces it. */
export const UNREADABLE = Symbol('unreadable row');

export function readSettingsRow(guildId: string, raw: unknown): Repaired<GuildSettings> {
  const problems: string[] = [];
  const row = openRow(raw, problems);
  if (row === undefined) return { value: defaultSettings(guildId), problems };

  const streams = readUniqueList(row, 'streams', problems, readStream, (stream) => stream.username);
  // Older rows stored keywords as bare strings (the old app had no match modes): read them as `contains`.
  const keywords = readUniqueList(
    row,
    'keywords',
    problems,
    (entry) => (typeof entry === 'string' ? readKeyword({ word: entry }) : readKeyword(entry)),
    (keyword) => keyword.word,
  );

  return {
    value: freezeSettings({
      guildId,
      streams,
      keywords,
      alertChannelId: optionalIdField(row, 'alertChannelId', problems),
      moderatorRoleId: optionalIdField(row, 'moderatorRoleId', problems),
      cooldownSeconds: defaultedField(row, 'cooldownSeconds', wholeUpTo(SETTINGS_LIMITS.maxCooldownSeconds), problems),
      delaySeconds: defaultedField(row, 'delaySeconds', wholeUpTo(SETTINGS_LIMITS.maxDelaySeconds), problems),
      notifyLive: defaultedField(row, 'notifyLive', isBoolean, problems),
      giftMinDiamonds: defaultedField(row, 'giftMinDiamonds', wholeUpTo(SETTINGS_LIMITS.maxGiftMinDiamonds), problems),
      hypeSensitivity: defaultedField(row, 'hypeSensitivity', isHypeSensitivity, problems),
      captureMode: defaultedField(row, 'captureMode', isCaptureMode, problems),
      windowBeforeSeconds: defaultedField(row, 'windowBeforeSeconds', wholeUpTo(SETTINGS_LIMITS.maxWindowBeforeSeconds), problems),
      windowAfterSeconds: defaultedField(row, 'windowAfterSeconds', wholeUpTo(SETTINGS_LIMITS.maxWindowAfterSeconds), problems),
      highlightsChannelId: optionalIdField(row, 'highlightsChannelId', problems),
      recapEnabled: defaultedField(row, 'recapEnabled', isBoolean, problems),
    }),
    problems,
  };
}

export function readClipsRow(raw: unknown): Repaired<ClipRecord[]> {
  const problems: string[] = [];
  const row = openRow(raw, problems);
  if (row === undefined) return { value: [], problems };
  const clips: ClipRecord[] = [];
  for (const [index, entry] of arrayField(row, 'clips', problems).entries()) {
    const clip = readClip(entry);
    if (clip === undefined) problems.push(`clips[${index}] dropped: not a valid clip record`);
    else clips.push(clip);
  }
  return { value: clips, problems };
}

export function readGuildIndexRow(raw: unknown): Repaired<string[]> {
  const problems: string[] = [];
  const row = openRow(raw, problems);
  if (row === undefined) return { value: [], problems };
  const ids = arrayField(row, 'guildIds', problems).filter(isId);
  return { value: [...new Set(ids)], problems };
}

function readStream(entry: unknown): StreamEntry | undefined {
  if (!isRecord(entry)) return undefined;
  const { username, addedChannelId, addedBy, addedAt, capture } = entry;
  if (!isId(username) || !isId(addedChannelId)) return undefined;
  return {
    username,
    addedChannelId,
    // Who and when are informational: a row missing them is still a stream worth watching.
    addedBy: isId(addedBy) ? addedBy : 'unknown',
    addedAt: isIsoDate(addedAt) ? addedAt : EPOCH_ISO,
    // Rows from before stream capture have none: the guild's default applies. A bad value is dropped too.
    ...(isCaptureMode(capture) ? { capture } : {}),
  };
}

function readKeyword(entry: unknown): KeywordEntry | undefined {
  if (!isRecord(entry)) return undefined;
  const { word, mode } = entry;
  if (typeof word !== 'string' || !isValidKeywordWord(word)) return undefined;
  return { word, mode: isKeywordMode(mode) ? mode : 'contains' };
}

function readClip(entry: unknown): ClipRecord | undefined {
  if (!isRecord(entry)) return undefined;
  const { id, streamer, path, fileName, chatters, keywords, message, manual, note, triggeredBy, at, posted, filedOn } =
    entry;
  if (!isId(id) || !isNonEmpty(streamer) || !isNonEmpty(path) || !isIsoDate(at)) return undefined;
  const clip: ClipRecord = {
    id,
    streamer,
    path,
    fileName: isNonEmpty(fileName) ? fileName : baseName(path),
    chatters: Array.isArray(chatters) ? chatters.filter(isString) : [],
    keywords: Array.isArray(keywords) ? keywords.filter(isString) : [],
    message: isString(message) ? message : '',
    manual: manual === true,
    ...(isString(note) ? { note } : {}),
    triggeredBy: isString(triggeredBy) ? triggeredBy : 'unknown',
    at,
    posted: posted === true,
    ...(isFiledOn(filedOn) ? { filedOn: { node: filedOn.node, host: filedOn.host, clipsDir: filedOn.clipsDir } } : {}),
  };
  return Object.freeze({ ...clip, chatters: Object.freeze(clip.chatters), keywords: Object.freeze(clip.keywords) });
}

export function isFiledOn(value: unknown): value is FiledOn {
  return isRecord(value) && isNonEmpty(value.node) && isNonEmpty(value.host) && isNonEmpty(value.clipsDir);
}

function checkVersion(raw: Record<string, unknown>, problems: string[]): void {
  if (raw['v'] === SCHEMA_VERSION) return;
  // No version: written before versioning; a higher one: written by a newer bot. Read what we understand.
  problems.push(
    raw['v'] === undefined
      ? 'row has no schema version; read as an older shape'
      : `row has schema version ${JSON.stringify(raw['v'])}, expected ${SCHEMA_VERSION}; read best-effort`,
  );
}

/**
 * Reads a list field entry by entry: invalid entries and case-insensitive duplicates of `nameOf` are
 * dropped, each with a problem noted.
 */
function readUniqueList<T>(
  raw: Record<string, unknown>,
  field: 'streams' | 'keywords',
  problems: string[],
  read: (entry: unknown) => T | undefined,
  nameOf: (value: T) => string,
): T[] {
  const values: T[] = [];
  const seen = new Set<string>();
  const what = field === 'streams' ? 'stream' : 'keyword';
  for (const [index, entry] of arrayField(raw, field, problems).entries()) {
    const value = read(entry);
    if (value === undefined) {
      problems.push(`${field}[${index}] dropped: not a valid ${what}`);
      continue;
    }
    const key = nameOf(value).toLowerCase();
    if (seen.has(key)) {
      problems.push(`${field}[${index}] dropped: duplicate of ${nameOf(value)}`);
      continue;
    }
    seen.add(key);
    values.push(value);
  }
  return values;
}

/**
 * The common start of every row read: nothing stored, unparsable, or not an object gives undefined (the
 * caller uses its default) with the problem noted; an object has its schema version checked.
 */
function openRow(raw: unknown, problems: string[]): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  if (raw === UNREADABLE || !isRecord(raw)) {
    problems.push(raw === UNREADABLE ? 'row is not valid JSON' : 'row is not an object');
    return undefined;
  }
  checkVersion(raw, problems);
  return raw;
}

function arrayField(raw: Record<string, unknown>, field: string, problems: string[]): unknown[] {
  const value = raw[field];
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  problems.push(`${field} is not a list; treated as empty`);
  return [];
}

function optionalIdField(raw: Record<string, unknown>, field: string, problems: string[]): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (isId(value)) return value;
  problems.push(`${field} is invalid; unset`);
  return undefined;
}

/** The settings that have a default. */
type Defaulted = Pick<GuildSettings, keyof typeof SETTINGS_DEFAULTS>;

/** A setting with a default: the stored value when it is valid, else the default, and the problem said. */
function defaultedField<K extends keyof Defaulted>(
  raw: Record<string, unknown>,
  field: K,
  isValid: (value: unknown) => value is Defaulted[K],
  problems: string[],
): Defaulted[K] {
  const fallback = (SETTINGS_DEFAULTS as Defaulted)[field];
  const value = raw[field];
  if (value === undefined) return fallback;
  if (isValid(value)) return value;
  problems.push(`${field} is invalid; default ${String(fallback)} used`);
  return fallback;
}

function wholeUpTo(max: number): (value: unknown) => value is number {
  return (value): value is number => isWholeInRange(value, max);
}

function isBoolean(value: unknown): value is boolean {
  return typeof value === 'boolean';
}

export function isCaptureMode(value: unknown): value is CaptureMode {
  return value === 'obs' || value === 'stream';
}

export function isHypeSensitivity(value: unknown): value is HypeSensitivity {
  return HYPE_SENSITIVITIES.includes(value as HypeSensitivity);
}

// ---------------------------------------------------------------------------------------------------
// Writing (strict)

/** Ids a guild may not have set: the row leaves them out rather than storing `undefined`. */
type UnsetIds = 'alertChannelId' | 'moderatorRoleId' | 'highlightsChannelId';

/**
 * The JSON written for a guild's settings: the settings themselves (so a new setting is one field, in
 * GuildSettings), with the schema version, without `guildId` (it lives in the key) and without unset ids.
 */
export type SettingsRow = { readonly v: typeof SCHEMA_VERSION } & Omit<GuildSettings, 'guildId' | UnsetIds> & {
  readonly [K in UnsetIds]?: string;
};

/**
 * Checks a value produced by an `update` callback and returns exactly the fields to store (copied, so a
 * caller's extra properties never reach the database). Throws AppError('INVALID_SETTING') listing every
 * problem at once.
 */
export function toSettingsRow(guildId: string, next: GuildSettings): { row: SettingsRow; settings: GuildSettings } {
  const problems: string[] = [];
  if (!isRecord(next)) throw invalid(guildId, ['the update returned no settings object']);
  if (next.guildId !== guildId) problems.push(`guildId changed from ${guildId} to ${String(next.guildId)}`);

  const streams: StreamEntry[] = [];
  if (!Array.isArray(next.streams)) problems.push('streams is not a list');
  else {
    if (next.streams.length > SETTINGS_LIMITS.maxStreams) problems.push(`more than ${SETTINGS_LIMITS.maxStreams} streams`);
    const seen = new Set<string>();
    for (const [index, entry] of (next.streams as readonly unknown[]).entries()) {
      const stream = readStream(entry);
      // Strict: readStream would fill in addedBy/addedAt, but a fresh write must carry them.
      const isComplete = isRecord(entry) && stream?.addedBy === entry['addedBy'] && stream?.addedAt === entry['addedAt']
        && stream?.capture === entry['capture'];
      if (stream === undefined || !isComplete) {
        problems.push(`streams[${index}] is not a valid stream`);
        continue;
      }
      const key = stream.username.toLowerCase();
      if (seen.has(key)) problems.push(`streams[${index}] duplicates ${stream.username}`);
      seen.add(key);
      streams.push(stream);
    }
  }

  const keywords: KeywordEntry[] = [];
  if (!Array.isArray(next.keywords)) problems.push('keywords is not a list');
  else {
    if (next.keywords.length > SETTINGS_LIMITS.maxKeywords) problems.push(`more than ${SETTINGS_LIMITS.maxKeywords} keywords`);
    const seen = new Set<string>();
    for (const [index, entry] of next.keywords.entries()) {
      if (!isRecord(entry) || typeof entry.word !== 'string' || !isValidKeywordWord(entry.word) || !isKeywordMode(entry.mode)) {
        problems.push(`keywords[${index}] is not a valid keyword`);
        continue;
      }
      const key = entry.word.toLowerCase();
      if (seen.has(key)) problems.push(`keywords[${index}] duplicates ${entry.word}`);
      seen.add(key);
      keywords.push({ word: entry.word, mode: entry.mode });
    }
  }

  for (const field of ['alertChannelId', 'moderatorRoleId', 'highlightsChannelId'] as const) {
    if (next[field] !== undefined && !isId(next[field])) problems.push(`${field} is invalid`);
  }
  if (!isWholeInRange(next.cooldownSeconds, SETTINGS_LIMITS.maxCooldownSeconds)) {
    problems.push(`cooldownSeconds must be a whole number from 0 to ${SETTINGS_LIMITS.maxCooldownSeconds}`);
  }
  if (!isWholeInRange(next.delaySeconds, SETTINGS_LIMITS.maxDelaySeconds)) {
    problems.push(`delaySeconds must be a whole number from 0 to ${SETTINGS_LIMITS.maxDelaySeconds}`);
  }
  if (typeof next.notifyLive !== 'boolean') problems.push('notifyLive is not a boolean');
  if (typeof next.recapEnabled !== 'boolean') problems.push('recapEnabled is not a boolean');
  if (!isWholeInRange(next.giftMinDiamonds, SETTINGS_LIMITS.maxGiftMinDiamonds)) {
    problems.push(`giftMinDiamonds must be a whole number from 0 to ${SETTINGS_LIMITS.maxGiftMinDiamonds}`);
  }
  if (!isHypeSensitivity(next.hypeSensitivity)) problems.push('hypeSensitivity must be off, low, medium or high');
  if (!isCaptureMode(next.captureMode)) problems.push('captureMode must be obs or stream');
  if (!isWholeInRange(next.windowBeforeSeconds, SETTINGS_LIMITS.maxWindowBeforeSeconds)) {
    problems.push(`windowBeforeSeconds must be a whole number from 0 to ${SETTINGS_LIMITS.maxWindowBeforeSeconds}`);
  }
  if (!isWholeInRange(next.windowAfterSeconds, SETTINGS_LIMITS.maxWindowAfterSeconds)) {
    problems.push(`windowAfterSeconds must be a whole number from 0 to ${SETTINGS_LIMITS.maxWindowAfterSeconds}`);
  }
  if (problems.length > 0) throw invalid(guildId, problems);

  const settings = freezeSettings({
    guildId,
    streams,
    keywords,
    alertChannelId: next.alertChannelId,
    moderatorRoleId: next.moderatorRoleId,
    cooldownSeconds: next.cooldownSeconds,
    delaySeconds: next.delaySeconds,
    notifyLive: next.notifyLive,
    giftMinDiamonds: next.giftMinDiamonds,
    hypeSensitivity: next.hypeSensitivity,
    captureMode: next.captureMode,
    windowBeforeSeconds: next.windowBeforeSeconds,
    windowAfterSeconds: next.windowAfterSeconds,
    highlightsChannelId: next.highlightsChannelId,
    recapEnabled: next.recapEnabled,
  });
  // The row is the settings as stored: no guildId (it is the key), unset ids left out.
  const { guildId: _key, alertChannelId, moderatorRoleId, highlightsChannelId, ...stored } = settings;
  const row: SettingsRow = {
    v: SCHEMA_VERSION,
    ...stored,
    ...(alertChannelId !== undefined ? { alertChannelId } : {}),
    ...(moderatorRoleId !== undefined ? { moderatorRoleId } : {}),
    ...(highlightsChannelId !== undefined ? { highlightsChannelId } : {}),
  };
  return { row, settings };
}

/** Validates a clip before it is archived and returns a clean copy holding only the known fields. */
export function toClipRecord(guildId: string, clip: ClipRecord): ClipRecord {
  const clean = readClip(clip);
  const problems: string[] = [];
  if (clean === undefined) problems.push('clip needs an id, streamer, path and ISO time');
  else {
    if (!isNonEmpty(clip.fileName)) problems.push('fileName is empty');
    if (!Array.isArray(clip.chatters) || !clip.chatters.every(isString)) problems.push('chatters must be strings');
    if (!Array.isArray(clip.keywords) || !clip.keywords.every(isString)) problems.push('keywords must be strings');
    if (!isString(clip.message)) problems.push('message must be a string');
    if (typeof clip.manual !== 'boolean' || typeof clip.posted !== 'boolean') problems.push('manual/posted must be booleans');
    if (clip.note !== undefined && !isString(clip.note)) problems.push('note must be a string');
    if (!isString(clip.triggeredBy)) problems.push('triggeredBy must be a string');
  }
  if (clean === undefined || problems.length > 0) {
    throw new AppError('INVALID_SETTING', `clip record for guild ${guildId} is invalid: ${problems.join('; ')}`);
  }
  return clean;
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function invalid(guildId: string, problems: readonly string[]): AppError {
  return new AppError('INVALID_SETTING', `settings for guild ${guildId} were not saved: ${problems.join('; ')}`);
}

function freezeSettings(settings: GuildSettings): GuildSettings {
  return Object.freeze({
    ...settings,
    streams: Object.freeze(settings.streams.map((entry) => Object.freeze({ ...entry }))),
    keywords: Object.freeze(settings.keywords.map((entry) => Object.freeze({ ...entry }))),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isNonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

/** Discord ids, TikTok handles, member names: non-empty, bounded, no surrounding whitespace. */
export function isId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= SETTINGS_LIMITS.maxIdLength &&
    value.trim() === value
  );
}

/** An invisible keyword (stored by an older version) is dropped when read: nobody could see or remove it. */
function isValidKeywordWord(word: string): boolean {
  return hasVisibleCharacter(word) && [...word].length <= SETTINGS_LIMITS.maxKeywordLength;
}

function isKeywordMode(value: unknown): value is KeywordMode {
  return KEYWORD_MODES.includes(value as KeywordMode);
}

function isWholeInRange(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && !Number.isNaN(Date.parse(value));
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
