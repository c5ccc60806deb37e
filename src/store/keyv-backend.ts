import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import type KeyvRedis from '@keyv/redis';
import type { Logger } from 'pino';
import { AppError } from '../util/errors.js';
import { errorMessage } from '../util/text.js';
import { postgresWriter, redisWriter, sqliteWriter, type ConditionalWriter } from './conditional-write.js';
import { UNREADABLE } from './settings-schema.js';

/** Every key the bot writes starts with this, so the bot can share a Redis or Postgres with others. */
export const STORE_NAMESPACE = 'tiktok-clip-bot';

/**
 * The adapters behind DATABASE_URL, by URL scheme. All are dependencies of the bot, pinned; each is
 * imported only when DATABASE_URL names it (a Redis or Postgres client costs 15-20 MB of memory for
 * nothing in a bot on SQLite).
 */
const ADAPTER_SCHEMES = {
  redis: ['redis:', 'rediss:'],
  postgres: ['postgres:', 'postgresql:'],
} as const;

/** How long a Redis or Postgres connection may take before a read or write fails instead of waiting. */
const CONNECT_TIMEOUT_MS = 5_000;

type ServerKind = keyof typeof ADAPTER_SCHEMES;

export interface OpenedStore {
  readonly keyv: Keyv;
  /** Conditional writes on the same rows, for updates that are atomic across processes. */
  readonly writer: ConditionalWriter;
  /** Where the store is, without any password (for logs and messages). */
  readonly description: string;
}

/** Keyv with our serialization on the store chosen by `databaseUrl`. Verified with one read before returning. */
export async function openKeyv(databaseUrl: string, log: Logger): Promise<OpenedStore> {
  const scheme = schemeOf(databaseUrl);
  let adapter: KeyvStoreAdapter;
  let writer: ConditionalWriter;
  let description: string;
  if (scheme === 'sqlite:') {
    const file = sqliteFilePath(databaseUrl);
    if (file !== ':memory:') await createFolder(file);
    const { default: KeyvSqlite } = await import('@keyv/sqlite');
    const sqlite = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5_000 });
    adapter = sqlite;
    writer = sqliteWriter(sqlite);
    description = `sqlite file ${file}`;
  } else {
    const kind = (Object.keys(ADAPTER_SCHEMES) as ServerKind[]).find((name) =>
      (ADAPTER_SCHEMES[name] as readonly string[]).includes(scheme),
    );
    if (kind === undefined) {
      throw new AppError(
        'CONFIG_INVALID',
        `DATABASE_URL has an unsupported scheme "${scheme}"; use sqlite://path/to/file.sqlite, ` +
          'redis://host:6379 or postgresql://user:password@host/database',
      );
    }
    // Never log the URL itself: it may carry a password.
    description = `${kind} at ${redactedHost(databaseUrl)}`;
    if (kind === 'redis') {
      const redis = await openRedis(databaseUrl);
      adapter = redis;
      writer = redisWriter(redis);
    } else {
      const { default: KeyvPostgres } = await import('@keyv/postgres');
      const postgres = new KeyvPostgres({ uri: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      adapter = postgres;
      writer = postgresWriter(postgres);
    }
  }

  const keyv = new Keyv({
    store: adapter,
    namespace: STORE_NAMESPACE,
    // Plain JSON in the database (readable with any SQL tool), and a row that does not parse becomes a
    // marker the schema layer repairs instead of an exception that would stop the bot.
    serialize: (data) => JSON.stringify(data),
    deserialize: (text) => {
      try {
        return JSON.parse(text) as { value?: never; expires?: number };
      } catch {
        return { value: UNREADABLE as never };
      }
    },
    // Keyv otherwise swallows store errors and reports `false`; we need a failed write to reject.
    throwOnErrors: true,
  });
  // Keyv also emits what it throws; an 'error' event without a listener would crash the process.
  keyv.on('error', (err: unknown) => log.debug({ err }, 'keyv store reported an error'));

  try {
    await keyv.get('index:guilds');
  } catch (err) {
    await keyv.disconnect().catch(() => undefined);
    throw new AppError('CONFIG_INVALID', `cannot open the settings store (${description}): ${errorMessage(err)}`, {
      cause: err,
    });
  }
  log.info({ store: description }, 'settings store opened');
  return { keyv, writer, description };
}

/**
 * @keyv/redis by default swallows errors (emits 'error', answers undefined) and queues commands while
 * disconnected; a read that looks like an empty guild would then be written over the real settings. So:
 * errors throw, commands fail at once while the connection is down (it reconnects in the background),
 * and connecting gives up after CONNECT_TIMEOUT_MS.
 */
async function openRedis(databaseUrl: string): Promise<KeyvRedis<unknown>> {
  const { default: KeyvRedis } = await import('@keyv/redis');
  return new KeyvRedis(
    {
      url: databaseUrl,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5_000),
      },
    },
    { throwOnErrors: true, throwOnConnectError: true, connectionTimeout: CONNECT_TIMEOUT_MS },
  );
}

function schemeOf(databaseUrl: string): string {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(databaseUrl.trim());
  if (match?.[1] === undefined) {
    throw new AppError(
      'CONFIG_INVALID',
      'DATABASE_URL must be a URL such as sqlite://data/bot.sqlite (a path relative to the working folder) ' +
        'or sqlite:///absolute/path/bot.sqlite',
    );
  }
  return `${match[1].toLowerCase()}:`;
}

/**
 * `sqlite://data/bot.sqlite` is relative to the working folder, `sqlite:///abs/bot.sqlite` absolute, and
 * `sqlite:///C:/x/bot.sqlite` or `sqlite://C:/x/bot.sqlite` absolute on Windows. Percent escapes are
 * decoded so `%20` works for a space, but a literal space works as well.
 */
export function sqliteFilePath(databaseUrl: string): string {
  let rest = databaseUrl.trim().replace(/^sqlite:\/\//i, '');
  rest = rest.replace(/[?#].*$/, '');
  try {
    rest = decodeURIComponent(rest);
  } catch {
    // A lone `%` in a file name: keep the text as written.
  }
  if (rest === ':memory:') return rest;
  if (/^\/[A-Za-z]:[\\/]/.test(rest)) rest = rest.slice(1);
  if (rest === '' || rest === '/') {
    throw new AppError('CONFIG_INVALID', 'DATABASE_URL names no sqlite file; use e.g. sqlite://data/bot.sqlite');
  }
  return isAbsolute(rest) || /^[A-Za-z]:[\\/]/.test(rest) ? rest : resolve(process.cwd(), rest);
}

async function createFolder(file: string): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true });
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `cannot create the folder for the sqlite database ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

function redactedHost(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}${url.port ? `:${url.port}` : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}
