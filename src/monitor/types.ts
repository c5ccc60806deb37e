/**
 * Types the monitor stage's modules and its defaults (defaults.ts) both need: they live here, so
 * defaults.ts imports no module that imports it back.
 */
import type { Agent } from 'node:http';
import type { BackoffOptions } from '../util/backoff.js';
import type { SilentRoomTimings } from './silent-room.js';
import type { TikTokSession } from './tiktok-session.js';

export interface BudgetWindow {
  readonly limit: number;
  readonly windowMs: number;
  /**
   * What the signing service reported as used in this window (ours included), and when (epoch ms) the
   * oldest of those uses stops counting (its `reset_at`, plus slack for clocks).
   */
  readonly reported?: { readonly used: number; readonly untilMs: number } | undefined;
}

export interface MonitorBudgets {
  /** Connect attempts (each one a signing-service request) across all streams of all guilds. */
  readonly connects: readonly BudgetWindow[];
  /** Cheap live checks across all streams. */
  readonly checks: readonly BudgetWindow[];
}

export interface SupervisorTimings {
  /** How often an offline user is checked (cheap live check), ± jitter. */
  readonly offlinePollMs: number;
  readonly pollJitterRatio: number;
  /** Backoff between failed connects and after drops. */
  readonly reconnect: BackoffOptions;
  /**
   * A live connection with no frame at all for this long (not even a heartbeat answer) is a dead socket,
   * treated as dropped.
   */
  readonly silenceTimeoutMs: number;
  /** A socket that lives but whose room sends nothing (a "zombie"): see src/monitor/silent-room.ts. */
  readonly silentRoom: SilentRoomTimings;
  /** How long a connection must stay up before the backoff resets. */
  readonly stableAfterMs: number;
  /** How long to wait before checking an unknown user again. */
  readonly errorRetryMs: number;
  /** Used when the signing service says 429 without a retry-after. */
  readonly rateLimitFallbackMs: number;
  /** Backoff between live checks that TikTok did not answer clearly (captcha, 403, 429, 5xx, timeout). */
  readonly unclearRetry: BackoffOptions;
  /** Each of those waits moves by up to ± this share (recorder issue 345: ±40 % got past WAF blocks). */
  readonly unclearJitterRatio: number;
  /** Unclear checks in a row before the state says so (`checking (TikTok did not answer clearly)`). */
  readonly unclearShownAfter: number;
}

/**
 * Where tiktok-live-connector 2.5 sends its traffic, and how long it may wait. Production passes only
 * `signApiKey`; tests point every host at the local fake (tests/fakes/tiktok-server.ts).
 *
 * Hosts the library contacts, and the field that moves each one:
 * - TikTok's web page and web API (room id, cheap live check): `webHost`
 * - TikTok's webcast API (room info: live or offline): `webcastHost`
 * - the signing service (room id fallback, signed `/webcast/rooms/{id}/connect`): `signApiUrl`
 * - the push WebSocket: whatever URL the signing service returns as `pushServer`
 */
export interface TikTokTransport {
  /** Signing-service key (`TIKTOK_SIGN_API_KEY`); sent as the `X-Api-Key` header. */
  readonly signApiKey?: string | undefined;
  /** Signing-service base URL. Default: the library's own, https://api.eulerstream.com. */
  readonly signApiUrl?: string | undefined;
  /**
   * TikTok web host as `host[:port]`, no scheme. The library uses https for it only when it is
   * loopback (`127.x`, `localhost`, `::1`) or a public name; anything else gets plain http.
   * Default `www.tiktok.com`.
   */
  readonly webHost?: string | undefined;
  /** TikTok webcast API host as `host[:port]`, no scheme. Default `webcast.tiktok.com`. */
  readonly webcastHost?: string | undefined;
  /**
   * PEM certificate(s) to trust INSTEAD of the system roots on every connection (web, signing
   * service, push socket). For tests against the self-signed fake; leave unset in production.
   */
  readonly caCertificate?: string | Buffer | undefined;
  /** Bound on each HTTP request (TikTok and the signing service) and on the socket handshake. */
  readonly requestTimeoutMs?: number | undefined;
  /** Bound on a whole `connect()` or `isLive()`, all requests and the socket included. */
  readonly operationTimeoutMs?: number | undefined;
  /**
   * How often the library sends its heartbeat on the push socket. Default: the library's 10 s, what
   * TikTok's web client does. Tests shorten it; the fake answers each heartbeat, which feeds `activity`.
   */
  readonly heartbeatIntervalMs?: number | undefined;
  /**
   * A logged-in TikTok web session (TIKTOK_SESSION_ID, TIKTOK_TT_TARGET_IDC) for restricted (18+, region)
   * LIVEs. The library puts it in its cookie jar, so TikTok's page, web API and room info get it as the
   * `sessionid`/`sessionid_ss`/`sid_tt`/`sid_guard` and `tt-target-idc` cookies. Nothing else gets it unless
   * `authenticateWs` is set.
   */
  readonly session?: TikTokSession | undefined;
  /**
   * TIKTOK_AUTHENTICATE_WS: also forward the session to the signing service (the library's `x-cookie-header`
   * on `/webcast/rooms/{id}/connect`) and send it on the push socket, as some restricted LIVEs need.
   * Read in tiktok-live-connector 2.5's source: without it the signed connect carries no cookie and the
   * socket only the anonymous ones (`getAnonymousCookieString`).
   */
  readonly authenticateWs?: boolean | undefined;
  /**
   * TIKTOK_PROXY_URL as an agent (src/util/proxy-agent.ts): TikTok's page, web API and room info (got's
   * `agent`) and the push socket (ws's `agent`) go through it. Read in tiktok-live-connector 2.5's source:
   * `webClientOptions` reach `got.extend()` whole (bar headers, searchParams, timeout) and
   * `wsClientOptions` reach the `ws` constructor whole (bar headers), so both take an agent.
   */
  readonly proxyAgent?: Agent | undefined;
  /**
   * The agent for the signing service (axios `httpAgent`/`httpsAgent`, and the limits request), set only
   * with TIKTOK_PROXY_SIGNING=true; without it the signing service is reached directly.
   */
  readonly signingProxyAgent?: Agent | undefined;
}
