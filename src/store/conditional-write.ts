import type KeyvPostgres from '@keyv/postgres';
import type KeyvRedis from '@keyv/redis';
import type KeyvSqlite from '@keyv/sqlite';

/**
 * Compare-and-set on one stored row, the piece Keyv lacks for updates that are atomic across processes:
 * two bots on one database each read a row, change it and write it back only if nobody wrote it in
 * between; the loser reads again and retries, so neither edit is lost.
 *
 * The comparison is on the row's stored text (what Keyv wrote: `{"value":…}`), which serves as the
 * version: any write changes it, and a row written back unchanged is harmless to overwrite.
 * `key` is the Keyv-level key already carrying the namespace prefix Keyv adds (`namespace:key`).
 */
export interface ConditionalWriter {
  /** The row's stored text; undefined when there is none. Rejects when the store cannot be reached. */
  readRaw(key: string): Promise<string | undefined>;
  /** Writes `next` only if the row's text is still `expected` (undefined: still absent). True when written. */
  compareAndSet(key: string, expected: string | undefined, next: string): Promise<boolean>;
}

export function sqliteWriter(adapter: KeyvSqlite): ConditionalWriter {
  const table = adapter.opts.table;
  // @keyv/sqlite's query() runs `Database#all` on its one connection; RETURNING (SQLite ≥ 3.35) tells
  // whether the conditional statement touched the row.
  const query = adapter.query as unknown as (sql: string, ...parameters: unknown[]) => Promise<unknown[]>;
  return {
    readRaw: async (key) => textOf(await adapter.get(key)),
    compareAndSet: async (key, expected, next) => {
      const rows =
        expected === undefined
          ? await query(`INSERT INTO ${table} (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING RETURNING key`, key, next)
          : await query(`UPDATE ${table} SET value = ? WHERE key = ? AND value = ? RETURNING key`, next, key, expected);
      return rows.length === 1;
    },
  };
}

export function postgresWriter(adapter: KeyvPostgres): ConditionalWriter {
  // Its options type extends pg's, which has no types installed here; these two fields are plain strings.
  const options = adapter.opts as { schema?: string; table?: string };
  const table = `${quoteIdentifier(options.schema ?? 'public')}.${quoteIdentifier(options.table ?? 'keyv')}`;
  const query = adapter.query as unknown as (sql: string, values: unknown[]) => Promise<unknown[]>;
  return {
    readRaw: async (key) => textOf(await adapter.get(key)),
    compareAndSet: async (key, expected, next) => {
      const rows =
        expected === undefined
          ? await query(`INSERT INTO ${table} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key`, [key, next])
          : await query(`UPDATE ${table} SET value = $1 WHERE key = $2 AND value = $3 RETURNING key`, [next, key, expected]);
      return rows.length === 1;
    },
  };
}

/** Runs atomically inside Redis: compare the current text (false when absent) and set only on a match. */
const REDIS_COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == 'absent' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1`;

export function redisWriter(adapter: KeyvRedis<unknown>): ConditionalWriter {
  return {
    readRaw: async (key) => textOf(await adapter.get(key)),
    compareAndSet: async (key, expected, next) => {
      const client = (await adapter.getClient()) as unknown as {
        eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
      };
      // The adapter adds its own prefix (`namespace::`) in front of Keyv's; the script must use the same key.
      const redisKey = adapter.createKeyPrefix(key, adapter.namespace);
      const result = await client.eval(REDIS_COMPARE_AND_SET, {
        keys: [redisKey],
        arguments: [expected === undefined ? 'absent' : 'present', expected ?? '', next],
      });
      return Number(result) === 1;
    },
  };
}

function textOf(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  return typeof raw === 'string' ? raw : JSON.stringify(raw);
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
