import type { Logger } from 'pino';
import type { EventKind } from '../events/event-log.js';
import { HealthServer } from './health-server.js';
import type { HealthSource } from './health-source.js';
import type { BotMetrics } from './metrics.js';

/** What /healthz and /metrics read from the other stages, except stream states, which this stage keeps. */
export type HealthParts = Omit<HealthSource, 'streamStates'>;

/**
 * The HTTP stage: the health source (with its own book of stream states, fed by the monitor's state
 * changes), and, when HTTP_PORT is set, the metrics it counts and the /healthz + /metrics server.
 * Without HTTP_PORT nobody can read a metric, so none is counted and prom-client (13 MB) is never loaded.
 */
export class HttpStage {
  private readonly streamStates = new Map<string, string>();
  private readonly source: HealthSource;
  private metrics: BotMetrics | undefined;
  private server: HealthServer | undefined;
  private servedUrl: string | undefined;

  constructor(
    private readonly port: number | undefined,
    parts: HealthParts,
    private readonly log: Logger,
  ) {
    // `parts` is a plain object of arrow functions (app.ts), so spreading it keeps each one working.
    this.source = { ...parts, streamStates: () => this.streamStates };
  }

  countChat(): void {
    this.metrics?.countChat();
  }

  countEvent(kind: EventKind): void {
    this.metrics?.countEvent(kind);
  }

  /** A stopped stream (removed) leaves the book; every other state is its latest. */
  streamChanged(username: string, state: string): void {
    if (state === 'stopped') this.streamStates.delete(username);
    else this.streamStates.set(username, state);
  }

  /** `http://127.0.0.1:PORT` while served, else undefined. */
  url(): string | undefined {
    return this.servedUrl;
  }

  /** Serves /healthz and /metrics when HTTP_PORT is set; the bot's first start step, before anything is counted. */
  async listen(): Promise<void> {
    if (this.port === undefined || this.server) return;
    const { BotMetrics } = await import('./metrics.js');
    this.metrics = new BotMetrics(this.source);
    this.server = new HealthServer({ source: this.source, metrics: this.metrics, log: this.log.child({ component: 'http' }) });
    this.servedUrl = `http://127.0.0.1:${(await this.server.listen(this.port)).port}`;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }
}
