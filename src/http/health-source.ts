import type { ReplayBufferStatus } from '../obs/replay-buffer.js';

/**
 * What /healthz and /metrics read from the running bot. app.ts fills it; the HTTP side never reaches
 * into the bot's parts itself, so it is tested with a plain object.
 */
export interface HealthSource {
  isDiscordReady(): boolean;
  obsStatus(): ReplayBufferStatus;
  /** The state name of every watched stream, by TikTok user. */
  streamStates(): ReadonlyMap<string, string>;
  /** Alerts waiting to be posted to Discord. */
  outboxSize(): number;
  /**
   * Whether clips depend on OBS: some watched stream uses `obs` capture, or none uses `stream` capture (a
   * bot with no streams yet is an OBS bot, as before captures existed). Absent: always.
   */
  isObsNeeded?(): boolean;
  /** CLUSTER=true: this node, whether it holds the Discord gateway, and the lives it watches. */
  cluster?(): ClusterHealth | undefined;
}

export interface ClusterHealth {
  readonly node: string;
  readonly gateway: boolean;
  readonly lives: readonly string[];
  /** Each of those lives' state here. */
  readonly states: Readonly<Record<string, string>>;
}

/** The state a stream waits in for the shared connect budget. */
export const QUEUED_STATE = 'queued';

export interface HealthReport {
  readonly isHealthy: boolean;
  readonly discord: { readonly ready: boolean };
  readonly obs: {
    readonly connection: string;
    readonly bufferActive: boolean | null;
    readonly lastError: string | null;
    /** False when every stream uses `stream` capture: then OBS down does not make the bot unhealthy. */
    readonly needed: boolean;
  };
  /** How many streams are in each state, e.g. `{ live: 2, offline: 5 }`. */
  readonly streams: Readonly<Record<string, number>>;
  readonly outbox: number;
  readonly cluster?: ClusterHealth;
}

/**
 * Healthy means clips can be made and posted: Discord is ready, and OBS is connected if any stream's clips
 * come from OBS. A bot whose streams all cut their own video stays healthy with OBS off or absent.
 */
export function healthReport(source: HealthSource): HealthReport {
  const obs = source.obsStatus();
  const discordReady = source.isDiscordReady();
  const isObsNeeded = source.isObsNeeded?.() ?? true;
  const cluster = source.cluster?.();
  return {
    isHealthy: discordReady && (obs.connection === 'connected' || !isObsNeeded),
    discord: { ready: discordReady },
    obs: { connection: obs.connection, bufferActive: obs.isBufferActive ?? null, lastError: obs.lastError ?? null, needed: isObsNeeded },
    streams: countByState(source.streamStates()),
    outbox: source.outboxSize(),
    ...(cluster ? { cluster } : {}),
  };
}

export function countByState(states: ReadonlyMap<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const state of states.values()) counts[state] = (counts[state] ?? 0) + 1;
  return counts;
}
