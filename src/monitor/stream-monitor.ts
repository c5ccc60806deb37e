import type { Logger } from 'pino';
import type { ChatMessage } from './chat-message.js';
import { AppError } from '../util/errors.js';
import type { GiftEvent, LiveConnection, LiveConnectionFactory } from './live-connection.js';
import { RateBudget, type BudgetPriority } from './rate-budget.js';
import { ConnectBudgetSizer, connectWindows, type BudgetSource, type ConnectOverrides, type SignLimits } from './sign-limits.js';
import { StreamSupervisor, type StreamState } from './stream-supervisor.js';
import { TIKTOK_DEFAULTS } from './defaults.js';
import type { MonitorBudgets, SupervisorTimings } from './types.js';

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
  /** The same guilds as a frozen list, rebuilt only when they change: every chat hands it on as it is. */
  guildList: readonly string[];
}

/**
 * Every watched TikTok user, once: two guilds watching the same user share one connection. Guilds
 * subscribe and unsubscribe; the last one out stops the supervisor.
 */
export class StreamMonitor {
  private readonly watched = new Map<string, Watched>();
  private readonly connectBudget: RateBudget;
  private readonly checkBudget: RateBudget;
  /** Keeps the connect budget sized to the signing service's limits; absent when budgets are fixed. */
  private readonly sizer: ConnectBudgetSizer | undefined;

  constructor(
    private readonly options: {
      readonly connect: LiveConnectionFactory;
      readonly listener: MonitorListener;
      readonly log: Logger;
      /** Fixed budgets (tests); without them the connect budget follows the signing service's limits. */
      readonly budgets?: MonitorBudgets;
      /** The signing service's limits for the key (fetchSignLimits); absent: the keyless fallback budget. */
      readonly signLimits?: () => Promise<SignLimits>;
      /** TIKTOK_CONNECTS_PER_MINUTE / _PER_HOUR. */
      readonly connectOverrides?: ConnectOverrides;
      readonly timings?: Partial<SupervisorTimings>;
      readonly random?: () => number;
      /** A connect budget shared with other processes (a cluster's), passed after this one. */
      readonly connectGate?: (signal: AbortSignal) => Promise<void>;
    },
  ) {
    const overrides = options.connectOverrides ?? {};
    // A connect counts from when it is over (the service saw it by then), not from its grant: see rate-budget.ts.
    this.connectBudget = new RateBudget(options.budgets?.connects ?? connectWindows(undefined, overrides, Date.now()), {
      inFlightMs: TIKTOK_DEFAULTS.signLimits.connectInFlightMs,
    });
    this.checkBudget = new RateBudget(options.budgets?.checks ?? TIKTOK_DEFAULTS.budgets.checks);
    if (!options.budgets && options.signLimits) {
      this.sizer = new ConnectBudgetSizer({
        budget: this.connectBudget,
        fetchLimits: options.signLimits,
        overrides,
        log: options.log.child({ component: 'connect-budget' }),
      });
      this.sizer.start();
    }
  }

  watch(guildId: string, username: string): void {
    const existing = this.watched.get(username);
    if (existing) {
      existing.guildIds.add(guildId);
      existing.guildList = Object.freeze([...existing.guildIds]);
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
      ...(this.options.connectGate ? { connectGate: this.options.connectGate } : {}),
      log: this.options.log.child({ stream: username }),
      onChat: (message) => this.options.listener.chat(message, entry.guildList),
      onGift: (gift) => this.options.listener.gift?.(gift, entry.guildList),
      onStateChange: (state, previous) => this.options.listener.stateChange(username, state, previous, entry.guildList),
      onRateLimited: (untilMs) => this.rateLimited(untilMs),
    });
    const entry: Watched = { supervisor, connection, guildIds, guildList: Object.freeze([guildId]) };
    this.watched.set(username, entry);
    supervisor.start();
  }

  async unwatch(guildId: string, username: string): Promise<void> {
    const entry = this.watched.get(username);
    if (!entry) return;
    entry.guildIds.delete(guildId);
    entry.guildList = Object.freeze([...entry.guildIds]);
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

  /**
   * Roughly how long a stream that wants to connect now would wait for the connect budget (ms; 0: at once;
   * undefined: not known yet). `/stream add` tells the moderator.
   */
  connectWaitMs(priority: BudgetPriority = 'foreground'): number | undefined {
    return this.connectBudget.estimateWaitMs(priority);
  }

  /** The connect budget in force and where it came from, for /status. */
  connectBudgetInfo(): { readonly windows: ReadonlyArray<{ readonly limit: number; readonly windowMs: number }>; readonly source: BudgetSource | 'fixed'; readonly queued: number } {
    return { windows: this.connectBudget.limits(), source: this.sizer?.source ?? 'fixed', queued: this.connectBudget.queued };
  }

  /** A 429 from the signing service: nobody connects before its reset, and its limits are read again. */
  private rateLimited(untilMs: number): void {
    this.connectBudget.holdUntil(untilMs);
    if (this.sizer) void this.sizer.refresh().catch((err: unknown) => this.options.log.error({ err }, 'could not re-read the signing service limits'));
  }

  async close(): Promise<void> {
    const entries = [...this.watched.values()];
    this.watched.clear();
    await Promise.all(entries.map((e) => e.supervisor.stop('shutting down')));
    this.sizer?.close();
    this.connectBudget.close();
    this.checkBudget.close();
  }
}
