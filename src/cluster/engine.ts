/**
 * The one place that knows which database the cluster's BullMQ runs on: from DATABASE_URL, BullMQ on
 * Redis (redis://, rediss://) or on BullMQ's own Postgres backend (postgres://, postgresql://). Every
 * queue, worker and event stream of the cluster is made here, so the rest of src/cluster/ is the same on
 * both. Neither engine needs anything of ours: locks, stalled-job recovery, the rate limiter and custom
 * events are BullMQ's on either.
 */
import { Queue, QueueEvents, QueueEventsProducer, Worker, createPostgresBackend, type Processor, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CLUSTER_DEFAULTS } from './defaults.js';

export type EngineKind = 'redis' | 'postgres';

/** Worker options that are the cluster's to choose (the connection is the engine's). */
export type EngineWorkerOptions = Omit<WorkerOptions, 'connection' | 'prefix'>;

export interface ClusterEngine {
  readonly kind: EngineKind;
  queue<T>(name: string): Queue<T>;
  worker<T>(name: string, processor: Processor<T>, options: EngineWorkerOptions): Worker<T>;
  /** Reads a queue's events (its own blocking connection). */
  events(name: string): QueueEvents;
  producer(name: string): QueueEventsProducer;
  /** Closes the engine's own connections (each queue, worker and event stream is closed by its user first). */
  close(): Promise<void>;
}

/** Which engine a DATABASE_URL names, or undefined when it names neither (SQLite: no cluster). */
export function engineKind(databaseUrl: string): EngineKind | undefined {
  if (/^rediss?:\/\//i.test(databaseUrl)) return 'redis';
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) return 'postgres';
  return undefined;
}

export function openEngine(databaseUrl: string, log: Logger): ClusterEngine {
  const kind = engineKind(databaseUrl);
  if (kind === 'redis') return redisEngine(databaseUrl, log);
  if (kind === 'postgres') return postgresEngine(databaseUrl);
  throw new Error('the cluster needs a Redis or Postgres DATABASE_URL');
}

function redisEngine(url: string, log: Logger): ClusterEngine {
  // BullMQ's workers need commands that wait as long as Redis is away (maxRetriesPerRequest: null).
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', (err) => log.warn({ err: err.message }, 'cluster redis trouble'));
  /** QueueEvents blocks on its connection (XREAD BLOCK), so each has one of its own. */
  const blocking: Redis[] = [];
  const common = { connection: redis, prefix: CLUSTER_DEFAULTS.prefix };
  return {
    kind: 'redis',
    queue: <T>(name: string) => new Queue<T>(name, common),
    worker: <T>(name: string, processor: Processor<T>, options: EngineWorkerOptions) => new Worker<T>(name, processor, { ...options, ...common }),
    events: (name) => {
      const connection = redis.duplicate();
      connection.on('error', () => undefined);
      blocking.push(connection);
      return new QueueEvents(name, { connection, prefix: CLUSTER_DEFAULTS.prefix });
    },
    producer: (name) => new QueueEventsProducer(name, common),
    close: async () => {
      for (const connection of blocking) connection.disconnect();
      redis.disconnect();
    },
  };
}

/**
 * BullMQ's Postgres backend: its tables in their own schema (named like the Redis key prefix), created or
 * brought up to date by BullMQ's migrations when the first queue connects (under its advisory lock, so
 * nodes starting together are fine). Each queue, worker and event stream owns a small pool (plus one
 * LISTEN connection for those that wait), closed with it.
 */
function postgresEngine(url: string): ClusterEngine {
  // A pool per BullMQ object, of at most two query connections (opened when needed; BullMQ's LISTEN
  // connection is apart): a node then holds about 25 connections of the server's default hundred.
  const connection = { connectionString: url, schema: CLUSTER_DEFAULTS.prefix, migrate: true, max: 2 };
  // The classes are typed for Redis by default; their API is the same on the Postgres backend.
  return {
    kind: 'postgres',
    queue: <T>(name: string) => new Queue(name, { connection }, createPostgresBackend) as unknown as Queue<T>,
    worker: <T>(name: string, processor: Processor<T>, options: EngineWorkerOptions) =>
      new Worker(name, processor as Processor, { ...options, connection }, createPostgresBackend) as unknown as Worker<T>,
    events: (name) => new QueueEvents(name, { connection }, createPostgresBackend) as unknown as QueueEvents,
    producer: (name) => new QueueEventsProducer(name, { connection }, createPostgresBackend) as unknown as QueueEventsProducer,
    close: async () => undefined,
  };
}
