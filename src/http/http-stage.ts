import type { Logger } from 'pino';
import type { EventKind } from '../events/event-log.js';
import { HealthServer } from './health-server.js';
import type { HealthSource } from './health-source.js';
import { BotMetrics } from './metrics.js';

/** What /healthz and /metrics read from the other stages, except stream states, which this stage keeps. */
export type HealthParts = Omit<HealthSource, 'streamStates'>;

/**
 * The HTTP stage: the health source (with its own book of stream states, fed by the monitor's state
 * changes), the metrics it counts, and the /healthz + /metrics server when HTTP_PORT is set.
 */
export class HttpStage {
  private readonly streamStates = new Map<string, string>();
  private readonly metrics: BotMetrics;
  private readonly server: HealthServer | undefined;
  private servedUrl: string | undefined;

  constructor(
    private readonly port: number | undefined,
    parts: HealthParts,
    log: Logger,
  ) {
    // `parts` is a plain object of arrow functions (app.ts), so spreading it keeps each one working.
    const source: HealthSource = { ...parts, streamStates: () => this.streamStates };
    this.metrics = new BotMetrics(source);
    this.server = port === undefined ? undefined : new HealthServer({ source, metrics: this.metrics, log: log.child({ component: 'http' }) });
  }

  countChat(): void {
    this.metrics.countChat();
  }

  countEvent(kind: EventKind): void {
    this.metrics.countEvent(kind);
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

  async listen(): Promise<void> {
    if (this.server) this.servedUrl = `http://127.0.0.1:${(await this.server.listen(this.port!)).port}`;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }
}
