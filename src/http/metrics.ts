import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { EventKind } from '../events/event-log.js';
import { countByState, QUEUED_STATE, type HealthSource } from './health-source.js';

/** What a trigger event became, as the `outcome` label of clipbot_triggers_total. */
const TRIGGER_OUTCOMES = { trigger: 'clipped', merged: 'merged', cooldown: 'cooldown' } as const satisfies Partial<Record<EventKind, string>>;

/**
 * The bot's Prometheus metrics, on a registry of its own (no global state: two bots in one test process
 * do not share counters). Counters are fed as things happen; gauges are read from the HealthSource
 * when scraped. The default process metrics include nodejs_eventloop_lag_seconds.
 */
export class BotMetrics {
  readonly registry = new Registry();
  private readonly chats: Counter;
  private readonly triggers: Counter<'outcome'>;
  private readonly clips: Counter;
  private readonly failures: Counter;

  constructor(source: HealthSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.chats = new Counter({ name: 'clipbot_chats_total', help: 'Chat messages received from every watched LIVE', registers });
    this.triggers = new Counter({
      name: 'clipbot_triggers_total',
      help: 'Triggers per server: clipped (started a clip), merged (joined one), cooldown (held back)',
      labelNames: ['outcome'],
      registers,
    });
    this.clips = new Counter({ name: 'clipbot_clips_total', help: 'Clips filed, per server told', registers });
    this.failures = new Counter({ name: 'clipbot_failures_total', help: 'Failures shown in /logs (clips not made, alerts not posted…)', registers });
    new Gauge({
      name: 'clipbot_joins_queued',
      help: 'Streams waiting for the shared TikTok connect budget',
      registers,
      collect() {
        this.set([...source.streamStates().values()].filter((s) => s === QUEUED_STATE).length);
      },
    });
    new Gauge({
      name: 'clipbot_outbox_depth',
      help: 'Alerts waiting to be posted to Discord',
      registers,
      collect() {
        this.set(source.outboxSize());
      },
    });
    new Gauge({
      name: 'clipbot_streams',
      help: 'Watched streams by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, count] of Object.entries(countByState(source.streamStates()))) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'clipbot_obs_connected',
      help: '1 while OBS is connected',
      registers,
      collect() {
        this.set(source.obsStatus().connection === 'connected' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'clipbot_discord_ready',
      help: '1 while the Discord client is ready',
      registers,
      collect() {
        this.set(source.isDiscordReady() ? 1 : 0);
      },
    });
  }

  countChat(): void {
    this.chats.inc();
  }

  /** Called for every EventLog event: triggers, clips and failures are counted from their kinds. */
  countEvent(kind: EventKind): void {
    if (kind === 'trigger' || kind === 'merged' || kind === 'cooldown') this.triggers.inc({ outcome: TRIGGER_OUTCOMES[kind] });
    else if (kind === 'save') this.clips.inc();
    else if (kind === 'failure') this.failures.inc();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
