import type { Logger } from 'pino';
import type { ChatMessage } from './chat-message.js';
import { AppError } from '../errors.js';
import type { GiftEvent, LiveConnection, LiveConnectionFactory } from './live-connection.js';
import { RateBudget, type BudgetWindow } from './rate-budget.js';
import {
  StreamSupervisor,
  type StreamState,
  type SupervisorTimings,
} from './stream-supervisor.js';

export interface MonitorBudgets {
  /** Connect attempts (each one a signing-service request) across all streams of all guilds. */
  readonly connects: readonly BudgetWindow[];
  /** Cheap live checks across all streams. */
  readonly checks: readonly BudgetWindow[];
}

/**
 * Without a key the signing service allowed about 5 connects a minute and 30 an hour per IP: stay under
 * both with room for a manual restart. Live checks go to TikTok's web API, which has no published limit;
 * one a second keeps a 50-stream restart from bursting.
 */
export const DEFAULT_BUDGETS = {
  connects: [
    { limit: 4, windowMs: 60_000 },
    { limit: 25, windowMs: 3_600_000 },
  ],
  checks: [{ limit: 1, windowMs: 1_000 }],
} as const satisfies MonitorBudgets;

export interface MonitorListener {
  chat(message: ChatMessage, guildIds: readonly string[]): void;
  gift?(gift: GiftEvent, guildIds: readonly string[]): void;
  /** Chats a second in the stream's last few seconds, for /status (the trigger router counts them). */
  chatRate?(username: string): number | undefined;
  stateChange(username: string, state: StreamState, previous: StreamState, guildIds: readonly string[]): void;
}

interface Watched {
  readonly supervisor: StreamSupervisor;
  /** The supervisor's connection; stream capture reads the LIVE's room info through it. */
  readonly connection: LiveConnection;
  readonly guildIds: Set<string>;
}

/**
 * Every watched TikTok user, once: two guilds watching the same user share one connection. Guilds
 * subscribe and unsubscribe; the last one out stops the supervisor.
 */
export class StreamMonitor {
  private readonly watched = new Map<string, Watched>();
  private readonly connectBudget: RateBudget;
  private readonly checkBudget: RateBudget;

  constructor(
    private readonly options: {
      readonly connect: LiveConnectionFactory;
      readonly listener: MonitorListener;
      readonly log: Logger;
      readonly budgets?: MonitorBudgets;
      readonly timings?: Partial<SupervisorTimings>;
      readonly random?: () => number;
    },
  ) {
    const budgets = options.budgets ?? DEFAULT_BUDGETS;
    this.connectBudget = new RateBudget(budgets.connects);
    this.checkBudget = new RateBudget(budgets.checks);
  }

  watch(guildId: string, username: string): void {
    const existing = this.watched.get(username);
    if (existing) {
      existing.guildIds.add(guildId);
      return;
    }
    const guildIds = new Set([guildId]);
    const connection = this.options.connect(username);
    const supervisor = new StreamSupervisor({
      connection,
      connectBudget: this.connectBudget,
      checkBudget: this.checkBudget,
      timings: this.options.timings,
      random: this.options.random,
      log: this.options.log.child({ stream: username }),
      onChat: (message) => this.options.listener.chat(message, [...guildIds]),
      onGift: (gift) => this.options.listener.gift?.(gift, [...guildIds]),
      onStateChange: (state, previous) =>
        this.options.listener.stateChange(username, state, previous, [...guildIds]),
    });
    this.watched.set(username, { supervisor, connection, guildIds });
    supervisor.start();
  }

  async unwatch(guildId: string, username: string): Promise<void> {
    const entry = this.watched.get(username);
    if (!entry) return;
    entry.guildIds.delete(guildId);
    if (entry.guildIds.size > 0) return;
    this.watched.delete(username);
    await entry.supervisor.stop('removed');
  }

  /** TikTok's room info for a watched user, fresh (stream capture's video URLs); rejects NOT_FOUND when unwatched. */
  async fetchRoomInfo(username: string, signal?: AbortSignal): Promise<unknown> {
    const entry = this.watched.get(username);
    if (!entry) throw new AppError('NOT_FOUND', `@${username} is not watched.`);
    return entry.connection.fetchRoomInfo(signal);
  }

  state(username: string): StreamState | undefined {
    return this.watched.get(username)?.supervisor.state;
  }

  /** Chats a second lately, when the listener counts them; undefined when unknown. */
  chatRate(username: string): number | undefined {
    return this.options.listener.chatRate?.(username);
  }

  /** Attempts granted in the last minute, for /status and tests. */
  connectsInLastMinute(): number {
    return this.connectBudget.grantedWithin(60_000);
  }

  async close(): Promise<void> {
    const entries = [...this.watched.values()];
    this.watched.clear();
    await Promise.all(entries.map((e) => e.supervisor.stop('shutting down')));
    this.connectBudget.close();
    this.checkBudget.close();
  }
}
