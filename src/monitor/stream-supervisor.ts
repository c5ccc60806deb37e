import type { Logger } from 'pino';
import { isAppError } from '../util/errors.js';
import { backoffDelay, withJitter } from '../util/backoff.js';
import { sleep } from '../util/sleep.js';
import { errorMessage } from '../util/text.js';
import type { ChatMessage } from './chat-message.js';
import { TikTokError, type GiftEvent, type LiveConnection } from './live-connection.js';
import type { BudgetGrant, RateBudget } from './rate-budget.js';
import { RecentIds } from './recent-ids.js';
import { formatDuration, SilentRoomWatch } from './silent-room.js';
import { TIKTOK_DEFAULTS } from './defaults.js';
import type { SupervisorTimings } from './types.js';

/**
 * The life of one watched TikTok user:
 *
 *   idle -> checking -> offline (poll again after the interval)
 *                    -> queued (waiting for the shared connect budget) -> connecting -> live
 *                       live -> (drop, dead socket or silent room) reconnecting -> checking ...
 *                                          -> (stream end) offline
 *                    -> rate-limited (wait retryAfter) -> connecting
 *                    -> error (user unknown: retry rarely)
 *                    -> restricted (18+ or region: no session, or TikTok refused it; checked again each poll)
 *   checking stays checking (retried with backoff and ±40 % jitter) while TikTok gives no clear answer;
 *   an unclear check never counts as "not live", so it never ends a LIVE.
 *   any -> stopped (removed or shutting down)
 */
export type StreamStateName =
  | 'idle'
  | 'checking'
  | 'offline'
  | 'queued'
  | 'connecting'
  | 'live'
  | 'reconnecting'
  | 'rate-limited'
  | 'restricted'
  | 'error'
  | 'stopped';

export interface StreamState {
  readonly name: StreamStateName;
  readonly since: Date;
  /** Why the state changed, in plain words. */
  readonly reason: string;
  /** The last failure seen, kept across later state changes until a successful connect. */
  readonly lastError: string | undefined;
}

export interface SupervisorOptions {
  readonly connection: LiveConnection;
  /** Shared by every supervisor: bounds connect attempts (signing-service requests) per minute/hour. */
  readonly connectBudget: RateBudget;
  /** Shared by every supervisor: spreads cheap live checks so a restart with 50 streams does not burst. */
  readonly checkBudget: RateBudget;
  readonly timings?: Partial<SupervisorTimings>;
  readonly log: Logger;
  readonly onChat: (message: ChatMessage) => void;
  readonly onGift?: (gift: GiftEvent) => void;
  readonly onStateChange: (state: StreamState, previous: StreamState) => void;
  /**
   * The signing service said 429: every stream must hold its connects until `untilMs` (epoch ms), and the
   * budget should be read again from the service.
   */
  readonly onRateLimited?: (untilMs: number) => void;
  readonly random?: () => number;
  /** After the local connect budget, a budget shared with other processes (a cluster's); absent: none. */
  readonly connectGate?: (signal: AbortSignal) => Promise<void>;
}

type LiveEnd = { kind: 'dropped'; reason: string } | { kind: 'ended' };

export class StreamSupervisor {
  readonly username: string;
  private current: StreamState;
  private readonly timings: SupervisorTimings;
  private readonly abort = new AbortController();
  private readonly seen = new RecentIds(TIKTOK_DEFAULTS.recentChatIds);
  /** What this room's traffic is like; kept across reconnects. */
  private readonly silentRoom: SilentRoomWatch;
  private loop: Promise<void> | undefined;
  private failures = 0;
  /** Live checks in a row that TikTok did not answer clearly. */
  private unclearChecks = 0;
  /** True after a drop or a failed connect: the next connect is a background reconnect, not a join. */
  private isReconnect = false;

  constructor(private readonly options: SupervisorOptions) {
    this.username = options.connection.username;
    this.timings = { ...TIKTOK_DEFAULTS.supervisor, ...options.timings };
    this.silentRoom = new SilentRoomWatch(this.timings.silentRoom);
    this.current = { name: 'idle', since: new Date(), reason: 'not started', lastError: undefined };
  }

  get state(): StreamState {
    return this.current;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted) {
        this.options.log.error({ err }, 'stream supervisor crashed');
        this.setState('error', 'internal error; the bot must be restarted for this stream', errorMessage(err));
      }
    });
  }

  /** Stops for good: closes the connection and ends every timer. */
  async stop(reason = 'stopped'): Promise<void> {
    this.abort.abort(new Error(reason));
    await this.options.connection.disconnect();
    await this.loop;
    this.setState('stopped', reason);
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let next: 'check' | 'connect' = 'check';
    while (!signal.aborted) {
      try {
        if (next === 'check') {
          this.setState(this.current.name === 'idle' ? 'checking' : this.current.name, this.current.reason);
          await this.options.checkBudget.acquire(signal);
          let isLive: boolean;
          try {
            isLive = await this.options.connection.isLive(signal);
          } catch (err) {
            if (signal.aborted || !isUnclearCheck(err)) throw err;
            await this.unclearCheck(err, signal);
            continue;
          }
          this.unclearChecks = 0;
          if (!isLive) {
            this.failures = 0;
            this.isReconnect = false;
            this.setState('offline', 'not live', undefined, { keepError: false });
            await sleep(withJitter(this.timings.offlinePollMs, this.timings.pollJitterRatio, this.options.random), signal);
            continue;
          }
        }
        const grant = await this.acquireConnect(signal);
        this.setState('connecting', 'live now; connecting to the chat');
        const end = await this.stayConnected(signal, grant);
        // Removed or shutting down: the LIVE did not end, so say nothing about it.
        if (signal.aborted) return;
        next = 'check';
        this.isReconnect = end.kind === 'dropped';
        if (end.kind === 'ended') {
          this.setState('offline', 'the LIVE ended');
          // TikTok's live check can still say "live" for a moment after the end: wait a poll interval.
          await sleep(withJitter(this.timings.offlinePollMs, this.timings.pollJitterRatio, this.options.random), signal);
        } else {
          await this.retryLater('reconnecting', end.reason, undefined, signal);
        }
      } catch (err) {
        if (signal.aborted) return;
        next = await this.handleFailure(err, signal);
      }
    }
  }

  /**
   * Waits for the shared connect budget, visibly `queued` with roughly when it joins if it cannot go at
   * once. A stream just added or just gone live goes before background reconnects.
   */
  private async acquireConnect(signal: AbortSignal): Promise<BudgetGrant> {
    const grant = await this.options.connectBudget.acquire(signal, {
      priority: this.isReconnect ? 'background' : 'foreground',
      onQueued: (estimateMs) => this.setState('queued', queuedReason(estimateMs)),
    });
    if (!this.options.connectGate) return grant;
    try {
      await this.options.connectGate(signal);
    } catch (err) {
      grant.done();
      throw err;
    }
    return grant;
  }

  /** Connects and resolves when the connection ends, however it ends. The grant is over once connect() is. */
  private async stayConnected(signal: AbortSignal, grant: BudgetGrant): Promise<LiveEnd> {
    const { connection } = this.options;
    let finish!: (end: LiveEnd) => void;
    const ended = new Promise<LiveEnd>((resolve) => (finish = resolve));
    let silenceTimer: NodeJS.Timeout | undefined;
    // Every frame pushes the one timer back (refresh(): no new timer on this per-frame path).
    const armSilence = () => {
      if (silenceTimer) silenceTimer.refresh();
      else {
        silenceTimer = setTimeout(
          () => finish({ kind: 'dropped', reason: `no data from TikTok for ${Math.round(this.timings.silenceTimeoutMs / 1000)} s` }),
          this.timings.silenceTimeoutMs,
        );
      }
    };
    const unsubscribe = [
      connection.on('chat', (message) => {
        // An id-less message cannot be deduplicated; let it through rather than drop it.
        if (message.id === '' || this.seen.add(message.id)) this.options.onChat(message);
      }),
      connection.on('gift', (gift) => this.options.onGift?.(gift)),
      connection.on('activity', armSilence),
      connection.on('roomTraffic', (viewers) => this.silentRoom.traffic(viewers)),
      connection.on('disconnected', (reason) => finish({ kind: 'dropped', reason: `connection lost (${reason})` })),
      connection.on('streamEnd', () => finish({ kind: 'ended' })),
    ];
    const onAbort = () => finish({ kind: 'ended' });
    signal.addEventListener('abort', onAbort, { once: true });
    let stableTimer: NodeJS.Timeout | undefined;
    let silentRoomTimer: NodeJS.Timeout | undefined;
    try {
      try {
        await connection.connect(signal);
      } finally {
        grant.done();
      }
      armSilence();
      this.silentRoom.connected();
      // A poll rather than a timer pushed back per message: chat floods stay a counter update each.
      silentRoomTimer = setInterval(() => {
        if (!this.silentRoom.isSilent()) return;
        const quiet = formatDuration(this.silentRoom.quietForMs());
        const limit = formatDuration(this.silentRoom.limitMs());
        this.silentRoom.reconnectingForSilence();
        finish({
          kind: 'dropped',
          reason: `silent room: TikTok answered heartbeats but sent no chat, join, like, gift or viewer update for ${quiet} (${this.silentRoom.describeRoom()}; quiet is normal here up to ${limit})`,
        });
      }, this.timings.silentRoom.checkEveryMs);
      this.setState('live', 'connected to the chat', undefined, { keepError: false });
      stableTimer = setTimeout(() => (this.failures = 0), this.timings.stableAfterMs);
      return await ended;
    } finally {
      clearTimeout(silenceTimer);
      clearTimeout(stableTimer);
      clearInterval(silentRoomTimer);
      signal.removeEventListener('abort', onAbort);
      for (const off of unsubscribe) off();
      await connection.disconnect();
    }
  }

  /**
   * TikTok gave no clear answer: not "offline" (a LIVE in progress must not look ended), not a failure
   * worth a reconnect. Check again after a backoff with wide jitter, and say so once it keeps happening.
   */
  private async unclearCheck(err: unknown, signal: AbortSignal): Promise<void> {
    this.unclearChecks += 1;
    const { initialMs, maxMs, factor } = this.timings.unclearRetry;
    const nominal = Math.min(maxMs, initialMs * factor ** (this.unclearChecks - 1));
    const wait = withJitter(nominal, this.timings.unclearJitterRatio, this.options.random);
    const message = errorMessage(err);
    if (this.unclearChecks >= this.timings.unclearShownAfter) {
      if (this.current.name !== 'checking' || this.current.reason !== UNCLEAR_REASON) {
        this.options.log.warn({ stream: this.username, checks: this.unclearChecks, detail: message }, 'TikTok keeps giving no clear answer to the live check');
      }
      this.setState('checking', UNCLEAR_REASON, message);
    } else {
      this.options.log.debug({ stream: this.username, detail: message, retryInMs: wait }, 'live check unclear; checking again');
    }
    await sleep(wait, signal);
  }

  /** Decides what comes after a failed check or connect; returns the next step. */
  private async handleFailure(err: unknown, signal: AbortSignal): Promise<'check' | 'connect'> {
    const message = errorMessage(err);
    if (isAppError(err, 'TIKTOK_OFFLINE')) {
      this.isReconnect = false;
      this.setState('offline', 'not live');
      await sleep(withJitter(this.timings.offlinePollMs, this.timings.pollJitterRatio, this.options.random), signal);
      return 'check';
    }
    if (isAppError(err, 'TIKTOK_RESTRICTED') || isAppError(err, 'TIKTOK_SESSION_REFUSED')) {
      // Live, but not for us: polled like an offline user (no connect spent) until it ends or opens.
      this.isReconnect = false;
      this.failures = 0;
      this.setState('restricted', isAppError(err, 'TIKTOK_RESTRICTED') ? 'needs TIKTOK_SESSION_ID' : SESSION_REFUSED_REASON, message);
      await sleep(withJitter(this.timings.offlinePollMs, this.timings.pollJitterRatio, this.options.random), signal);
      return 'check';
    }
    if (isAppError(err, 'TIKTOK_USER_NOT_FOUND')) {
      this.setState('error', 'TikTok does not know this user', message);
      await sleep(this.timings.errorRetryMs, signal);
      return 'check';
    }
    if (isAppError(err, 'TIKTOK_RATE_LIMITED')) {
      const retryAfter = err instanceof TikTokError ? err.retryAfterMs : undefined;
      const wait = Math.max(retryAfter ?? this.timings.rateLimitFallbackMs, backoffDelay(this.failures, this.timings.reconnect, this.options.random));
      this.failures += 1;
      // The whole budget waits for the service's reset (x-ratelimit-reset), else for its retry-after.
      const resetAt = rateLimitResetAt(err);
      this.options.onRateLimited?.(resetAt !== undefined && resetAt > Date.now() ? resetAt : Date.now() + (retryAfter ?? this.timings.rateLimitFallbackMs));
      this.setState('rate-limited', `the signing service asked us to wait ${Math.ceil(wait / 1000)} s`, message);
      await sleep(wait, signal);
      return 'connect';
    }
    this.options.log.warn({ err, stream: this.username }, 'stream check or connect failed');
    this.isReconnect = true;
    await this.retryLater('reconnecting', 'connect failed', message, signal);
    return 'check';
  }

  private async retryLater(state: StreamStateName, reason: string, error: string | undefined, signal: AbortSignal): Promise<void> {
    const wait = backoffDelay(this.failures, this.timings.reconnect, this.options.random);
    this.failures += 1;
    this.setState(state, `${reason}; retrying in ${Math.ceil(wait / 1000)} s`, error);
    await sleep(wait, signal);
  }

  private setState(name: StreamStateName, reason: string, error?: string, options: { keepError?: boolean } = {}): void {
    const previous = this.current;
    const lastError = error ?? (options.keepError === false ? undefined : previous.lastError);
    if (previous.name === name && previous.reason === reason && previous.lastError === lastError) return;
    this.current = {
      name,
      since: previous.name === name ? previous.since : new Date(),
      reason,
      lastError,
    };
    this.options.onStateChange(this.current, previous);
  }
}

/** What `/stream list` shows while TikTok's live check keeps answering unclearly. */
export const UNCLEAR_REASON = 'TikTok did not answer clearly';
const SESSION_REFUSED_REASON = 'TikTok refused TIKTOK_SESSION_ID: expired, signed out, or a wrong TIKTOK_TT_TARGET_IDC';

/**
 * A live check that could not tell: the routes all unclear, or the check as a whole timing out or failing to
 * reach TikTok. (Connect failures are handled by handleFailure; this is only used around isLive.)
 */
function isUnclearCheck(err: unknown): boolean {
  return isAppError(err, 'TIKTOK_UNCLEAR') || isAppError(err, 'TIMEOUT') || isAppError(err, 'TIKTOK_CONNECT_FAILED');
}

/** "queued for the connect budget, joins in ~40 s" (or "~3 min"; unknown while the limits are being read). */
export function queuedReason(estimateMs: number | undefined): string {
  if (estimateMs === undefined) return 'queued for the connect budget (reading the signing service limits)';
  return `queued for the connect budget, joins in ${formatWait(estimateMs)}`;
}

/** A wait in words: "~40 s", "~3 min", "~2 h". */
export function formatWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return seconds < 120 ? `~${seconds} s` : seconds < 7_200 ? `~${Math.round(seconds / 60)} min` : `~${Math.round(seconds / 3_600)} h`;
}

/** The epoch ms the signing service's window resets at, from a 429's `x-ratelimit-reset` (SignatureRateLimitError.resetTime). */
function rateLimitResetAt(err: unknown): number | undefined {
  const cause = err instanceof Error ? (err as { cause?: unknown }).cause : undefined;
  const resetTime = (cause as { resetTime?: unknown } | undefined)?.resetTime;
  return typeof resetTime === 'number' && Number.isFinite(resetTime) ? resetTime : undefined;
}
