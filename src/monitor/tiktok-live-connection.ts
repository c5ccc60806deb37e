/**
 * The TikTok adapter: LiveConnection on tiktok-live-connector 2.5 (see live-connection.ts for the port).
 *
 * What the stream supervisor can rely on, and what it must do itself:
 * - connect() never reconnects by itself and never retries (got retries are off too). One connect()
 *   costs one signed connect on the signing service (about 5/min and 30/h per IP without a key):
 *   check isLive() first and back off; honour TikTokError.retryAfterMs on TIKTOK_RATE_LIMITED.
 * - isLive() reads TikTok's web page (no signed connect). When the page and web API fail it falls
 *   back to the signing service's room-id lookup, which has its own limits.
 * - TIKTOK_USER_NOT_FOUND means TikTok said `user_not_found`; TikTok sometimes says so for real,
 *   live users (library issue #323), so treat it as "retry much later", not as permanent.
 * - After `disconnected` or `streamEnd` the adapter is idle; call connect() again. A socket can also
 *   go silent without closing (and TikTok can skip the stream-end message, issue #268): `activity`
 *   fires for every frame including heartbeat answers (every 10 s by default), so a watchdog on it
 *   catches a dead socket. A live socket whose room went quiet (heartbeats answered, nothing else:
 *   issues #173, #280) shows only as missing `roomTraffic`. disconnect() then connect() recovers both.
 * - Chats can arrive slightly out of order (the library gunzips frames concurrently). Each chat keeps
 *   TikTok's message id, so a replay after a reconnect carries the id it had: the supervisor drops it.
 */
import type { Agent } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import type {
  ClientEventMap,
  InvalidResponseCompositeError,
  TikTokLiveConnection,
  TikTokLiveConnectionOptions,
  WebcastChatMessage,
  WebcastGiftMessage,
} from 'tiktok-live-connector';
import type { ChatMessage } from './chat-message.js';
import {
  TikTokError,
  type LiveConnection,
  type LiveConnectionEvents,
  type LiveConnectionFactory,
} from './live-connection.js';
import type { SignLimits, SignLimitWindow } from './sign-limits.js';
import { Listeners } from '../util/listeners.js';
import { TIKTOK_DEFAULTS } from './defaults.js';
import { checkLive, roomAnswer } from './tiktok-live-check.js';
import type { TikTokTransport } from './types.js';

/** Where problems that are not a method's rejection go (a throwing listener, a bad frame). */
export interface TikTokAdapterLogger {
  warn(obj: object, msg: string): void;
}

/**
 * tiktok-live-connector with its protobuf schemas, got and the signing-service SDK: about 20 MB of memory.
 * Imported when the first stream is checked or joined, not at start: a bot watching nothing (or not yet)
 * does not carry it. Everything below that uses it takes the loaded module.
 */
type Library = typeof import('tiktok-live-connector');
let loadedLibrary: Promise<Library> | undefined;

function loadLibrary(): Promise<Library> {
  loadedLibrary ??= import('tiktok-live-connector').catch((err: unknown) => {
    loadedLibrary = undefined;
    throw err;
  });
  return loadedLibrary;
}

type ResolvedTransport = TikTokTransport & {
  readonly [K in keyof typeof TIKTOK_DEFAULTS.transport]-?: (typeof TIKTOK_DEFAULTS.transport)[K] extends string
    ? string
    : number;
};

const noopLogger: TikTokAdapterLogger = { warn: () => undefined };

/**
 * One factory per process (main.ts builds it from config). Each call makes an adapter for one streamer.
 *
 * The transport is validated once, here, so a bad value fails at start-up rather than on first use.
 */
export function createTikTokConnectionFactory(
  transport: TikTokTransport,
  log: TikTokAdapterLogger = noopLogger,
): LiveConnectionFactory {
  const resolved = resolveTransport(transport);
  if (resolved.authenticateWs && resolved.session) {
    // The library refuses to hand the session to a signing service unless this names its host: the
    // user's TIKTOK_AUTHENTICATE_WS=true is that consent, for the service the bot is configured with.
    process.env.WHITELIST_AUTHENTICATED_SESSION_ID_HOST = new URL(resolved.signApiUrl).host;
  }
  // A refused session is one fact about the bot, not one per stream: said once.
  const shared: SharedState = { hasReportedRefusedSession: false };
  return (username) => new TikTokLiveConnectionAdapter(username, resolved, log, shared);
}

interface SharedState {
  hasReportedRefusedSession: boolean;
}

function resolveTransport(transport: TikTokTransport): ResolvedTransport {
  const problems: string[] = [];
  const resolved = {
    ...transport,
    signApiUrl: transport.signApiUrl ?? TIKTOK_DEFAULTS.transport.signApiUrl,
    webHost: transport.webHost ?? TIKTOK_DEFAULTS.transport.webHost,
    webcastHost: transport.webcastHost ?? TIKTOK_DEFAULTS.transport.webcastHost,
    requestTimeoutMs: transport.requestTimeoutMs ?? TIKTOK_DEFAULTS.transport.requestTimeoutMs,
    operationTimeoutMs: transport.operationTimeoutMs ?? TIKTOK_DEFAULTS.transport.operationTimeoutMs,
  };
  for (const key of ['requestTimeoutMs', 'operationTimeoutMs', 'heartbeatIntervalMs'] as const) {
    const value = resolved[key];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) problems.push(`${key} must be a positive number`);
  }
  for (const key of ['webHost', 'webcastHost'] as const) {
    if (resolved[key].includes('/')) problems.push(`${key} must be host[:port] without scheme or path`);
  }
  try {
    new URL(resolved.signApiUrl);
  } catch {
    problems.push('signApiUrl must be an absolute URL');
  }
  if (resolved.authenticateWs && !resolved.session) problems.push('authenticateWs needs a session (TIKTOK_SESSION_ID and TIKTOK_TT_TARGET_IDC)');
  if (problems.length > 0) {
    throw new TikTokError('INTERNAL', `Invalid TikTok transport: ${problems.join('; ')}.`);
  }
  return Object.freeze(resolved);
}

type SignClient = ReturnType<Library['createEulerClient']>;

/**
 * Builds a signing-service client for this transport without leaving anything in the library's
 * process-wide `SignConfig`.
 *
 * Why: the library keeps its signing configuration in the module-level mutable `SignConfig` and
 * caches the client built from it on first use (`createEulerClient`), so the first connection in
 * the process would fix the URL, key, timeout and CA for every later one, and a second transport
 * (a second fake in the same test process) would silently use the first one's. The library also
 * accepts a ready client per connection (`eulerApiInstance`); its class is only reachable through
 * `createEulerClient`, so we fill `SignConfig`, build, and put `SignConfig` back exactly as it was.
 * This is synchronous, so nothing else can observe the temporary values. We never pass
 * `signApiKey` to the library: that option writes the key into `SignConfig` for good.
 */
function buildSignClient({ SignConfig, VERSION, createEulerClient }: Library, transport: ResolvedTransport, signal: AbortSignal): SignClient {
  const saved = { ...SignConfig };
  try {
    SignConfig.basePath = transport.signApiUrl;
    SignConfig.apiKey = transport.signApiKey;
    SignConfig.baseOptions = {
      headers: { 'User-Agent': `tiktok-live-connector/${VERSION} ${process.platform}` },
      // The library reads 4xx/5xx bodies itself (429 -> SignatureRateLimitError): never throw on status.
      validateStatus: () => true,
      // The library sets no timeout on signing requests: a hung signing service would hang connect().
      timeout: transport.requestTimeoutMs,
      signal,
      // got (the web requests) ignores proxy env vars; make axios agree so every request goes direct.
      proxy: false,
      ...(transport.caCertificate === undefined
        ? {}
        : { httpsAgent: new HttpsAgent({ ca: transport.caCertificate }) }),
      ...(transport.signingProxyAgent === undefined
        ? {}
        : { httpAgent: transport.signingProxyAgent, httpsAgent: transport.signingProxyAgent }),
    };
    SignConfig.cachedInstance = undefined;
    return createEulerClient();
  } finally {
    for (const key of Object.keys(SignConfig)) delete (SignConfig as Record<string, unknown>)[key];
    Object.assign(SignConfig, saved);
  }
}

type WebClientOptions = NonNullable<TikTokLiveConnectionOptions['webClientOptions']>;

function createLibraryConnection(
  lib: Library,
  username: string,
  transport: ResolvedTransport,
  signal: AbortSignal,
): TikTokLiveConnection {
  // The library drops `timeout` from webClientOptions (it reads the TIKTOK_CLIENT_TIMEOUT env var
  // once per client instead); a beforeRequest hook sets it per request, which got honours.
  const webClientOptions: Omit<WebClientOptions, 'cookieJar'> = {
    signal,
    retry: { limit: 0 }, // the supervisor owns retries and their backoff
    hooks: {
      beforeRequest: [
        (options) => {
          options.timeout = { request: transport.requestTimeoutMs };
        },
      ],
    },
    ...(transport.caCertificate === undefined
      ? {}
      : { https: { certificateAuthority: transport.caCertificate } }),
    ...(transport.proxyAgent === undefined ? {} : { agent: { http: transport.proxyAgent, https: transport.proxyAgent as HttpsAgent } }),
  };
  return new lib.TikTokLiveConnection(username, {
    // Never replay chats from before we connected (TikTok's initial data): a clip bot must not fire on them.
    processInitialData: false,
    // connect() reads room info itself first (offline or restricted cost no signing-service connect).
    fetchRoomInfoOnConnect: false,
    enableExtendedGiftInfo: false,
    eulerApiInstance: buildSignClient(lib, transport, signal),
    // The library's options type is a union by authenticateWs that a spread cannot narrow; the values are checked in sessionOptions.
    ...(sessionOptions(transport) as Record<string, never>),
    webConfigOverrides: {
      TIKTOK_HOST_WEB: transport.webHost,
      TIKTOK_HOST_WEBCAST: transport.webcastHost,
    },
    wsConfigOverrides: {
      // Only used as a `host` option that ws overrides from the URL; set anyway so no default remains.
      TIKTOK_HOST_WS: transport.webHost,
      ...(transport.heartbeatIntervalMs === undefined
        ? {}
        : { DEFAULT_WS_PING_INTERVAL: transport.heartbeatIntervalMs }),
    },
    // cookieJar is typed as required but the library always replaces it with its own.
    webClientOptions: webClientOptions as WebClientOptions,
    wsClientOptions: {
      handshakeTimeout: transport.requestTimeoutMs,
      ...(transport.caCertificate === undefined ? {} : { ca: transport.caCertificate }),
      ...(transport.proxyAgent === undefined ? {} : { agent: transport.proxyAgent }),
    },
  });
}

/** The session (when set) as the library takes it: a cookie bundle, and authenticateWs only when asked for. */
function sessionOptions(transport: ResolvedTransport): object {
  if (!transport.session) return {};
  const cookie = { type: 'cookie' as const, value: { sessionId: transport.session.sessionId, ttTargetIdc: transport.session.ttTargetIdc } };
  return transport.authenticateWs ? { session: { cookie }, authenticateWs: true } : { session: { cookie }, authenticateWs: false };
}

/**
 * Under moduleResolution NodeNext the class type of TikTokLiveConnection loses `.on()` (its
 * typed-emitter import does not resolve; skipLibCheck hides it). It is an EventEmitter at runtime;
 * this types each listener through the library's own ClientEventMap.
 */
function listen<E extends keyof ClientEventMap>(
  connection: TikTokLiveConnection,
  event: E,
  listener: ClientEventMap[E],
): void {
  (connection as unknown as NodeJS.EventEmitter).on(event, listener as (...args: unknown[]) => void);
}

/** One connect() attempt and, once it succeeds, the open connection. */
interface Session {
  readonly library: TikTokLiveConnection;
  /** Aborted (with a TikTokError as reason) on timeout, caller abort, disconnect() or a newer connect(). */
  readonly controller: AbortController;
  lastError: unknown;
}

/**
 * LiveConnection on tiktok-live-connector 2.5.
 *
 * Every connect() and isLive() uses a fresh library instance (cheap: no I/O until used), so a
 * timed-out or aborted attempt can be abandoned without leaving the library stuck in CONNECTING,
 * and events from an old socket can never leak into the next connection.
 */
export class TikTokLiveConnectionAdapter implements LiveConnection {
  readonly username: string;
  private readonly transport: ResolvedTransport;
  private readonly log: TikTokAdapterLogger;
  // A listener bug must not stop the other listeners or break the library's frame loop.
  private readonly listeners = new Listeners<LiveConnectionEvents>((err, event) =>
    this.log.warn({ err, event, streamer: this.username }, 'tiktok connection listener threw'),
  );
  private session: Session | undefined;

  private readonly shared: SharedState;

  /** Built by createTikTokConnectionFactory, which resolves and checks the transport once for all. */
  constructor(username: string, transport: ResolvedTransport, log: TikTokAdapterLogger = noopLogger, shared: SharedState = { hasReportedRefusedSession: false }) {
    this.username = username.trim().replace(/^@/, '').toLowerCase();
    this.transport = transport;
    this.log = log;
    this.shared = shared;
  }

  on<E extends keyof LiveConnectionEvents>(event: E, listener: LiveConnectionEvents[E]): () => void {
    return this.listeners.on(event, listener);
  }

  async isLive(signal?: AbortSignal): Promise<boolean> {
    const lib = await loadLibrary();
    const controller = new AbortController();
    const library = createLibraryConnection(lib, this.username, this.transport, controller.signal);
    const doing = `checking whether @${this.username} is live`;
    try {
      // The page, the web API and room info, read with suspicion (tiktok-live-check.ts): no signed
      // connect, so it does not spend the connect budget.
      const answer = await this.bounded(controller, checkLive(lib, library, this.username, this.transport.requestTimeoutMs), signal, doing);
      switch (answer.kind) {
        case 'live':
          return true;
        case 'offline':
          return false;
        case 'not-found':
          throw new TikTokError('TIKTOK_USER_NOT_FOUND', `TikTok says there is no user @${this.username}.`);
        case 'restricted':
          throw this.restricted();
        case 'unclear':
          throw new TikTokError('TIKTOK_UNCLEAR', `TikTok did not answer clearly whether @${this.username} is live: ${answer.why}.`);
      }
    } catch (err) {
      throw this.translate(lib, err, controller, doing);
    } finally {
      controller.abort(new TikTokError('ABORTED', 'Live check finished.'));
    }
  }

  async fetchRoomInfo(signal?: AbortSignal): Promise<unknown> {
    const lib = await loadLibrary();
    const controller = new AbortController();
    const library = createLibraryConnection(lib, this.username, this.transport, controller.signal);
    const doing = `reading @${this.username}'s room info`;
    try {
      // The room id comes from the web page like isLive(); room info is TikTok's webcast API. Neither is a
      // signed connect, so stream capture asking again after an expired URL costs no connect budget.
      const work = library.fetchRoomId().then((roomId) => library.fetchRoomInfo(roomId));
      return await this.bounded(controller, work, signal, doing);
    } catch (err) {
      throw this.translate(lib, err, controller, doing);
    } finally {
      controller.abort(new TikTokError('ABORTED', 'Room info read.'));
    }
  }

  async connect(signal?: AbortSignal): Promise<void> {
    const lib = await loadLibrary();
    // A new connect() replaces whatever came before; an attempt still running rejects ABORTED.
    await this.disconnect();
    const controller = new AbortController();
    const library = createLibraryConnection(lib, this.username, this.transport, controller.signal);
    const session: Session = { library, controller, lastError: undefined };
    this.session = session;
    this.wire(lib, session);

    const doing = `connecting to @${this.username}'s LIVE`;
    const pending = (async () => {
      const roomId = await library.fetchRoomId();
      // Room info first: an ended or restricted room costs no signing-service connect.
      const room = roomAnswer(await library.fetchRoomInfo(roomId));
      if (room.kind === 'offline') throw new TikTokError('TIKTOK_OFFLINE', `@${this.username} is not live on TikTok right now.`);
      if (room.kind === 'restricted') throw this.restricted();
      await library.connect(roomId);
    })();
    try {
      await this.bounded(controller, pending, signal, doing);
    } catch (err) {
      if (this.session === session) this.session = undefined;
      // If the library still manages to open the socket after we gave up, close it at once.
      pending.then(
        () => library.disconnect(),
        () => undefined,
      ).catch(() => undefined);
      throw this.translate(lib, err, controller, doing);
    }
    if (this.session !== session) {
      // disconnect() or a newer connect() won while the socket was opening.
      await library.disconnect().catch(() => undefined);
      throw new TikTokError('ABORTED', `Connecting to @${this.username} was cancelled.`);
    }
  }

  async disconnect(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    session.controller.abort(
      new TikTokError('ABORTED', `Connecting to @${this.username} was cancelled by disconnect().`),
    );
    try {
      // Closes the socket politely; the library force-terminates after WS_DISCONNECT_TIMEOUT_MS (2 s).
      await session.library.disconnect();
    } catch (err) {
      this.log.warn({ err, streamer: this.username }, 'tiktok disconnect failed');
    }
  }

  private wire({ ControlEvent, WebcastEvent }: Library, session: Session): void {
    const { library } = session;
    const isCurrent = () => this.session === session;

    // websocketData fires for every frame the push socket receives, before decoding: chats, other
    // messages, heartbeat and room-enter answers. Exactly the "server is alive" signal the watchdog needs.
    listen(library, ControlEvent.WEBSOCKET_DATA, () => {
      if (isCurrent()) this.emit('activity');
    });
    // decodedData fires once per message of a pushed frame (not for heartbeat answers, not for the
    // initial data we skip): what the room itself says, for the silent-room watch.
    listen(library, ControlEvent.DECODED_DATA, (type: string, event: unknown) => {
      if (!isCurrent() || !ROOM_TRAFFIC.has(type)) return;
      this.emit('roomTraffic', type === 'WebcastRoomUserSeqMessage' ? viewerCount(event) : undefined);
    });
    listen(library, WebcastEvent.CHAT, (message) => {
      if (isCurrent()) this.onChat(message);
    });
    listen(library, WebcastEvent.GIFT, (message) => {
      if (isCurrent()) this.onGift(message);
    });
    listen(library, WebcastEvent.STREAM_END, () => {
      if (!isCurrent()) return;
      // The library closes the socket itself right after; that close is not a "disconnected".
      this.session = undefined;
      this.emit('streamEnd');
    });
    listen(library, ControlEvent.DISCONNECTED, ({ code, reason }) => {
      if (!isCurrent()) return;
      this.session = undefined;
      const detail = reason ? `: ${reason}` : '';
      const cause = session.lastError instanceof Error ? ` after error "${session.lastError.message}"` : '';
      this.emit('disconnected', `TikTok chat socket closed (code ${code}${detail})${cause}`);
    });
    listen(library, ControlEvent.ERROR, (event: { info?: string; exception?: unknown }) => {
      session.lastError = event.exception;
      // Errors during connect() come back as its rejection; later ones (a frame that would not decode,
      // a socket error before the close) are only worth a log line.
      if (library.isConnected && isCurrent()) {
        this.log.warn({ err: event.exception, info: event.info, streamer: this.username }, 'tiktok library error');
      }
    });
  }

  /**
   * WebcastGiftMessage (tiktok-live-proto v3): value in `gift.diamondCount` and `repeatCount`, name in
   * `gift.name`. A streakable gift (`gift.type` 1, or `gift.combo`) repeats while the viewer taps, each
   * message carrying the running `repeatCount`; the one with `repeatEnd` 1 carries the total.
   */
  private onGift(message: WebcastGiftMessage): void {
    const user = message.user;
    const sender = user?.displayId || user?.id || 'unknown';
    const isStreakable = message.gift?.type === 1 || message.gift?.combo === true;
    this.emit('gift', {
      streamer: this.username,
      sender,
      senderName: user?.nickname || sender,
      giftName: message.gift?.name || `gift ${message.giftId}`,
      diamondCount: message.gift?.diamondCount ?? 0,
      repeatCount: Math.max(1, message.repeatCount),
      isFinal: !isStreakable || message.repeatEnd === 1,
      receivedAt: new Date(),
    });
  }

  private onChat(message: WebcastChatMessage): void {
    // Replays (TikTok resends recent chats after a reconnect) keep their id; the supervisor drops them.
    const raw = message.common?.msgId ?? '';
    const id = raw === '0' ? '' : raw;
    const user = message.user;
    const chatter = user?.displayId || user?.id || 'unknown';
    const chat: ChatMessage = {
      id,
      streamer: this.username,
      chatter,
      chatterName: user?.nickname || chatter,
      text: message.content,
      receivedAt: new Date(),
    };
    this.emit('chat', chat);
  }

  /**
   * Room info refused a restricted LIVE (status_code 4003110). Without a session that is expected; with one,
   * TikTok did not accept it: expired or signed out, or sent to the wrong data centre (tt-target-idc).
   */
  private restricted(): TikTokError {
    const who = `@${this.username}`;
    if (!this.transport.session) {
      return new TikTokError('TIKTOK_RESTRICTED', `${who}'s LIVE is restricted (18+ or region): TikTok shows it only to a logged-in account (TIKTOK_SESSION_ID).`);
    }
    if (!this.shared.hasReportedRefusedSession) {
      this.shared.hasReportedRefusedSession = true;
      this.log.warn({ streamer: this.username }, 'TikTok refused the session in TIKTOK_SESSION_ID (expired or signed out, or TIKTOK_TT_TARGET_IDC is wrong); restricted lives stay unwatched, the others go on');
    }
    return new TikTokError('TIKTOK_SESSION_REFUSED', `TikTok refused TIKTOK_SESSION_ID for ${who}'s restricted LIVE: it expired or was signed out, or TIKTOK_TT_TARGET_IDC is not its data centre.`);
  }

  private emit<E extends keyof LiveConnectionEvents>(
    event: E,
    ...args: Parameters<LiveConnectionEvents[E]>
  ): void {
    this.listeners.emit(event, ...args);
  }

  /**
   * Races a library call against our whole-operation deadline and the caller's signal. Either one
   * aborts `controller`, which also cancels the library's in-flight HTTP requests (got and axios both
   * get the signal).
   */
  private async bounded<T>(
    controller: AbortController,
    work: Promise<T>,
    signal: AbortSignal | undefined,
    doing: string,
  ): Promise<T> {
    const ms = this.transport.operationTimeoutMs;
    const timer = setTimeout(() => {
      controller.abort(
        new TikTokError('TIMEOUT', `TikTok took longer than ${ms} ms while ${doing}.`),
      );
    }, ms);
    const onCallerAbort = () => {
      controller.abort(new TikTokError('ABORTED', `Stopped ${doing}: cancelled.`, { cause: signal?.reason }));
    };
    if (signal?.aborted) onCallerAbort();
    else signal?.addEventListener('abort', onCallerAbort, { once: true });

    let removeAbortListener: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(controller.signal.reason);
      if (controller.signal.aborted) fail();
      else {
        controller.signal.addEventListener('abort', fail, { once: true });
        removeAbortListener = () => controller.signal.removeEventListener('abort', fail);
      }
    });
    aborted.catch(() => undefined);
    try {
      return await Promise.race([work, aborted]);
    } finally {
      clearTimeout(timer);
      removeAbortListener?.();
      signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /** Library error -> TikTokError with a stable code and a message a moderator can read. */
  private translate(lib: Library, err: unknown, controller: AbortController, doing: string): TikTokError {
    const { ConnectTimeoutError, InvalidResponseCompositeError, PremiumFeatureError, SignAPIError, SignatureRateLimitError, UserOfflineError } = lib;
    if (err instanceof TikTokError) return err;
    if (controller.signal.aborted && controller.signal.reason instanceof TikTokError) {
      const reason = controller.signal.reason;
      return new TikTokError(reason.code, reason.message, { cause: err });
    }
    const who = `@${this.username}`;
    const ms = this.transport.requestTimeoutMs;
    if (err instanceof UserOfflineError) {
      return new TikTokError('TIKTOK_OFFLINE', `${who} is not live on TikTok right now.`, { cause: err });
    }
    if (err instanceof SignatureRateLimitError) {
      const retryAfterMs = err.retryAfter > 0 ? err.retryAfter : undefined;
      const wait = retryAfterMs === undefined ? 'try again later' : `it asks to wait ${Math.ceil(retryAfterMs / 1000)} s`;
      return new TikTokError(
        'TIKTOK_RATE_LIMITED',
        `The TikTok signing service is limiting how often we connect; ${wait}.`,
        { cause: err, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
      );
    }
    if (err instanceof PremiumFeatureError) {
      return new TikTokError(
        'TIKTOK_CONNECT_FAILED',
        `The TikTok signing service refused to connect to ${who}: it needs an API key or a paid plan for this.`,
        { cause: err },
      );
    }
    if (err instanceof SignAPIError) {
      if (isTimeoutMessage(err.message)) {
        return new TikTokError('TIMEOUT', `The TikTok signing service did not answer within ${ms} ms.`, { cause: err });
      }
      return new TikTokError(
        'TIKTOK_CONNECT_FAILED',
        `The TikTok signing service failed while ${doing} (${err.reason}).`,
        { cause: err },
      );
    }
    if (err instanceof InvalidResponseCompositeError) {
      return this.translateLookupFailure(err, doing);
    }
    if (err instanceof ConnectTimeoutError || isTimeoutError(err)) {
      return new TikTokError('TIMEOUT', `TikTok did not answer within ${ms} ms while ${doing}.`, { cause: err });
    }
    if (err instanceof Error && err.message.startsWith('Error connecting to WebSocket')) {
      // A restricted room's socket can want the session, which the library sends there only with authenticateWs.
      const hint = this.transport.session && !this.transport.authenticateWs ? ' (a restricted LIVE may need TIKTOK_AUTHENTICATE_WS=true)' : '';
      return new TikTokError('TIKTOK_CONNECT_FAILED', `TikTok refused the chat connection for ${who}${hint}.`, { cause: err });
    }
    return new TikTokError('TIKTOK_CONNECT_FAILED', `Could not reach TikTok while ${doing}.`, { cause: err });
  }

  /**
   * "Failed to retrieve Room ID / live status from all sources": the library tried the web page, the
   * web API and the signing service and keeps each failure in `config.requestErrs`. Only call it
   * "user not found" when TikTok said so; a block, a captcha page or a network failure is not that.
   */
  private translateLookupFailure(err: InvalidResponseCompositeError, doing: string): TikTokError {
    const who = `@${this.username}`;
    const causes = compositeCauses(err);
    const messages = causes.map((c) => (c instanceof Error ? c.message : String(c)));
    if (messages.some((m) => /19881007|user_not_found|user not found/i.test(m))) {
      return new TikTokError('TIKTOK_USER_NOT_FOUND', `TikTok says there is no user ${who}.`, { cause: err });
    }
    if (causes.some((c) => isTimeoutError(c) || (c instanceof Error && isTimeoutMessage(c.message)))) {
      return new TikTokError(
        'TIMEOUT',
        `TikTok did not answer within ${this.transport.requestTimeoutMs} ms while ${doing}.`,
        { cause: err },
      );
    }
    if (messages.some((m) => /Failed to extract Room ID from (HTML|API)/.test(m))) {
      // The page and API know the user but list no room: they have not gone live lately.
      return new TikTokError('TIKTOK_OFFLINE', `${who} is not live on TikTok right now.`, { cause: err });
    }
    return new TikTokError(
      'TIKTOK_CONNECT_FAILED',
      `TikTok did not tell us about ${who}'s LIVE (blocked, captcha or changed page?).`,
      { cause: err },
    );
  }
}

/** The messages that show a room is alive (the list): chat, member, like, gift, social, viewer count. */
const ROOM_TRAFFIC: ReadonlySet<string> = new Set([
  'WebcastChatMessage',
  'WebcastMemberMessage',
  'WebcastLikeMessage',
  'WebcastGiftMessage',
  'WebcastSocialMessage',
  'WebcastRoomUserSeqMessage',
]);

/** `total` of a decoded WebcastRoomUserSeqMessage (an int64 string): the viewers now. */
function viewerCount(decoded: unknown): number | undefined {
  const total = (decoded as { data?: { total?: unknown } } | undefined)?.data?.total;
  const viewers = typeof total === 'string' || typeof total === 'number' ? Number(total) : NaN;
  return Number.isFinite(viewers) && viewers >= 0 ? viewers : undefined;
}

function compositeCauses(err: InvalidResponseCompositeError): unknown[] {
  const config = (err as { config?: { requestErrs?: unknown } }).config;
  return Array.isArray(config?.requestErrs) ? config.requestErrs : [];
}

/** got's TimeoutError (name TimeoutError, code ETIMEDOUT) and ws's handshake timeout. */
function isTimeoutError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return err.name === 'TimeoutError' || code === 'ETIMEDOUT' || /handshake has timed out/i.test(err.message);
}

/** axios's timeout, which reaches us only as text inside a SignAPIError ("timeout of 500ms exceeded"). */
function isTimeoutMessage(message: string): boolean {
  return /timeout of \d+ms exceeded|ETIMEDOUT|ECONNABORTED/i.test(message);
}

/**
 * What the signing service allows this transport's key (anonymous limits without one) for connects:
 * `GET /accounts/me/rate_limits`, as the library's Euler Stream client asks it, but with a plain HTTPS
 * request, so reading the limits at start does not load the library (see loadLibrary). The key goes only
 * in the `x-api-key` header, never in the URL, so it cannot end up in a logged URL. Rejects with
 * TikTokError (TIMEOUT, TIKTOK_CONNECT_FAILED) when the service cannot be reached or answers anything but limits.
 */
export async function fetchSignLimits(transport: TikTokTransport): Promise<SignLimits> {
  const resolved = resolveTransport(transport);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), resolved.requestTimeoutMs);
  try {
    const { status, body: text } = await getText(`${resolved.signApiUrl}/accounts/me/rate_limits`, {
      headers: {
        Accept: 'application/json',
        'User-Agent': `tiktok-live-connector/${libraryVersion()} ${process.platform}`,
        ...(resolved.signApiKey === undefined ? {} : { 'x-api-key': resolved.signApiKey }),
      },
      ...(resolved.caCertificate === undefined ? {} : { ca: resolved.caCertificate }),
      ...(resolved.signingProxyAgent === undefined ? {} : { agent: resolved.signingProxyAgent }),
      signal: controller.signal,
    });
    const body = parseJson(text);
    if (status !== 200 || typeof body !== 'object' || body === null) {
      throw new TikTokError('TIKTOK_CONNECT_FAILED', `The TikTok signing service answered ${status} when asked for its limits.`);
    }
    const answer = body as Record<string, unknown>;
    return { minute: signLimitWindow(answer.minute), hour: signLimitWindow(answer.hour), day: signLimitWindow(answer.day) };
  } catch (err) {
    if (err instanceof TikTokError) throw err;
    if (controller.signal.aborted) {
      throw new TikTokError('TIMEOUT', `The TikTok signing service did not tell its limits within ${resolved.requestTimeoutMs} ms.`, { cause: err });
    }
    throw new TikTokError('TIKTOK_CONNECT_FAILED', 'Could not ask the TikTok signing service for its limits.', { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One GET, the whole body as text. Direct (like the library's requests, it ignores proxy variables) unless
 * given the TIKTOK_PROXY_SIGNING agent.
 */
function getText(
  url: string,
  options: { headers: Record<string, string>; ca?: string | Buffer; agent?: Agent; signal: AbortSignal },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method: 'GET', headers: options.headers, signal: options.signal, ...(options.ca === undefined ? {} : { ca: options.ca }), ...(options.agent ? { agent: options.agent } : {}) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The library's version for the User-Agent it would send itself, read from its package.json (not its code). */
function libraryVersion(): string {
  const { version } = createRequire(import.meta.url)('tiktok-live-connector/package.json') as { version: string };
  return version;
}

/** `{ max, remaining, reset_at }`, reset_at an ISO string or null; anything malformed counts as not reported. */
function signLimitWindow(value: unknown): SignLimitWindow | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { max, remaining, reset_at: resetAt } = value as Record<string, unknown>;
  if (typeof max !== 'number' || !Number.isFinite(max) || typeof remaining !== 'number' || !Number.isFinite(remaining)) return undefined;
  const resetAtMs = typeof resetAt === 'string' ? Date.parse(resetAt) : NaN;
  return { max, remaining: Math.max(0, Math.min(max, remaining)), resetAtMs: Number.isFinite(resetAtMs) ? resetAtMs : undefined };
}
