import type { Client } from 'discord.js';
import type { StreamBufferOptions } from './capture/stream/stream-buffer.js';
import type { ClipService } from './clips/clip-service.js';
import type { ClusterTimings } from './cluster/defaults.js';
import type { DeliveryWorker } from './delivery/delivery-worker.js';
import type { EventLog } from './events/event-log.js';
import type { GuildSettingsService } from './guilds/settings-service.js';
import type { MonitorAdapters, MonitorTuning } from './monitor/create-monitor.js';
import type { StreamMonitor } from './monitor/stream-monitor.js';
import type { ReplayBuffer } from './obs/replay-buffer.js';
import type { DeliveryTimings } from './delivery/types.js';

// What createBot (src/app.ts) takes and gives: the bot as tests and main.ts hold it.

/** Real parts swapped for local ones (tests, special set-ups); production uses none of them. */
export interface BotAdapters extends MonitorAdapters {
  /** discord.js REST base, e.g. a local server's `http://127.0.0.1:PORT/api`. */
  readonly discordApiUrl?: string;
  /** Instead of OBS; its `recordDirectory()` is where the clip journal accepts its files. */
  readonly replayBuffer?: ReplayBuffer;
}

/** Knobs that make waits short in tests; each falls back to the default a user gets. */
export interface BotTuning extends MonitorTuning {
  readonly coalesceWindowMs?: number;
  /** Stream capture buffer timings (tests: a short buffer and 1 s segments). */
  readonly streamBuffer?: StreamBufferOptions;
  readonly deliveryTimings?: Partial<DeliveryTimings>;
  /** CLUSTER=true: lock, stall-check and heartbeat timings. */
  readonly cluster?: Partial<ClusterTimings>;
}

export interface BotOverrides {
  readonly adapters?: BotAdapters;
  readonly tuning?: BotTuning;
}

export interface Bot {
  readonly client: Client;
  readonly settings: GuildSettingsService;
  readonly monitor: StreamMonitor;
  readonly clips: ClipService;
  readonly events: EventLog;
  readonly replayBuffer: ReplayBuffer;
  /** `http://127.0.0.1:PORT` while /healthz and /metrics are served (HTTP_PORT set), else undefined. */
  httpUrl(): string | undefined;
  /** The durable outbox's delivery: held channels, pending posts. */
  readonly delivery: DeliveryWorker;
  /** Logs in, registers the commands, resumes every stored stream. */
  start(): Promise<void>;
  /** Closes every connection (TikTok, OBS, Discord, the store) and waits for saves in flight. */
  stop(): Promise<void>;
}
