import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { UNREADABLE } from './settings-schema.js';

/** Every key the bot writes starts with this, so the bot can share a Redis or Postgres with others. */
export const STORE_NAMESPACE = 'tiktok-clip-bot';

/** Optional adapters, loaded only when DATABASE_URL asks for them. */
const OPTIONAL_ADAPTERS = {
  redis: { packageName: '@keyv/redis', schemes: ['redis:', 'rediss:'] },
  postgres: { packageName: '@keyv/postgres', schemes: ['postgres:', 'postgresql:'] },
} as const;

type OptionalAdapter = keyof typeof OPTIONAL_ADAPTERS;

/** Keyv with our serialization on the store chosen by `databaseUrl`. Verified with one read before returning. */
export async function openKeyv(databaseUrl: string, log: Logger): Promise<Keyv> {
  const scheme = schemeOf(databaseUrl);
  let adapter: KeyvStoreAdapter;
  let description: string;
  if (scheme === 'sqlite:') {
    const file = sqliteFilePath(databaseUrl);
    if (file !== ':memory:') await createFolder(file);
    adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5_000 });
    description = `sqlite file ${file}`;
  } else {
    const kind = (Object.keys(OPTIONAL_ADAPTERS) as OptionalAdapter[]).find((name) =>
      (OPTIONAL_ADAPTERS[name].schemes as readonly string[]).includes(scheme),
    );
    if (kind === undefined) {
      throw new AppError(
        'CONFIG_INVALID',
        `DATABASE_URL has an unsupported scheme "${scheme}"; use sqlite://path/to/file.sqlite, ` +
          'redis://… (with @keyv/redis installed) or postgres://… (with @keyv/postgres installed)',
      );
    }
    adapter = await loadOptionalAdapter(kind, databaseUrl);
    // Never log the URL itself: it may carry a password.
    description = `${kind} at ${redactedHost(databaseUrl)}`;
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
    throw new AppError('CONFIG_INVALID', `cannot open the settings store (${description}): ${errorText(err)}`, {
      cause: err,
    });
  }
  log.info({ store: description }, 'settings store opened');
  return keyv;
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
    throw new AppError('CONFIG_INVALID', `cannot create the folder for the sqlite database ${file}: ${errorText(err)}`, {
      cause: err,
    });
  }
}

async function loadOptionalAdapter(kind: OptionalAdapter, databaseUrl: string): Promise<KeyvStoreAdapter> {
  const { packageName } = OPTIONAL_ADAPTERS[kind];
  let module: Record<string, unknown>;
  try {
    // A variable specifier keeps TypeScript and bundlers from requiring a package most installs lack.
    const specifier: string = packageName;
    module = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new AppError(
        'CONFIG_INVALID',
        `DATABASE_URL is a ${kind} URL but ${packageName} is not installed; run \`npm install ${packageName}\` ` +
          'or use sqlite://data/bot.sqlite',
        { cause: err },
      );
    }
    throw new AppError('CONFIG_INVALID', `cannot load ${packageName}: ${errorText(err)}`, { cause: err });
  }
  const named = kind === 'redis' ? module['KeyvRedis'] : module['KeyvPostgres'];
  const Adapter = (module['default'] ?? named);
  if (typeof Adapter !== 'function') {
    throw new AppError('CONFIG_INVALID', `${packageName} has no adapter export this bot understands`);
  }
  const AdapterClass = Adapter as new (options: unknown) => KeyvStoreAdapter;
  // @keyv/redis takes the URL itself, @keyv/postgres an options object with `uri`.
  return kind === 'redis' ? new AdapterClass(databaseUrl) : new AdapterClass({ uri: databaseUrl });
}

function redactedHost(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}${url.port ? `:${url.port}` : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
