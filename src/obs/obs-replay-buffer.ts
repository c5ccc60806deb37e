/**
 * The OBS adapter of the ReplayBuffer port, over obs-websocket 5 (obs-websocket-js).
 *
 * Protocol facts this code relies on (measured against OBS 29.0.2 / obs-websocket 5.1.0, see
 * https://github.com/obsproject/obs-websocket/blob/master/docs/generated/protocol.md):
 * - `SaveReplayBuffer` answers at once; the file path only arrives later in the `ReplayBufferSaved` event
 *   (~0.2 s with x264 tune=zerolatency, ~0.75 s without). Two saves close together merge into one event, or
 *   produce two events with the SAME path (the second file overwrites the first). Hence one save at a time,
 *   and the next one only after the caller moved the file away.
 * - When OBS dies, a request already in flight NEVER settles: every request here has its own timeout and
 *   also fails as soon as the connection closes.
 * - Close codes: 4009 wrong/missing password, 1001 OBS quitting (after `ExitStarted`), 1006 killed/crashed.
 *   Request status 500 = output already running, 501 = output not running.
 */
import OBSWebSocket, {
  EventSubscription,
  OBSWebSocketError,
  type OBSEventTypes,
  type OBSRequestTypes,
  type OBSResponseTypes,
} from 'obs-websocket-js';
import type { Logger } from 'pino';
import { AppError, withTimeout } from '../errors.js';
import type { ReplayBuffer, ReplayBufferStatus, SavedReplay } from './replay-buffer.js';
import { backoffDelay } from '../util/backoff.js';

/**
 * The part of obs-websocket-js's `OBSWebSocket` the adapter uses; unit tests pass a fake. The listener
 * methods are overloads (not one generic) so that `OBSWebSocket` itself satisfies this type.
 */
export interface ObsSocket {
  connect(
    url: string,
    password: string | undefined,
    identification: { eventSubscriptions: number },
  ): Promise<unknown>;
  disconnect(): Promise<void>;
  call<Type extends keyof OBSRequestTypes>(
    requestType: Type,
    requestData?: OBSRequestTypes[Type],
  ): Promise<OBSResponseTypes[Type]>;
  on(event: 'ConnectionClosed', listener: (error: OBSWebSocketError) => void): unknown;
  on(event: 'ExitStarted', listener: () => void): unknown;
  on(event: 'ReplayBufferStateChanged', listener: (data: ReplayBufferStateChanged) => void): unknown;
  on(event: 'ReplayBufferSaved', listener: (data: ReplayBufferSaved) => void): unknown;
  off(event: 'ConnectionClosed', listener: (error: OBSWebSocketError) => void): unknown;
  off(event: 'ExitStarted', listener: () => void): unknown;
  off(event: 'ReplayBufferStateChanged', listener: (data: ReplayBufferStateChanged) => void): unknown;
  off(event: 'ReplayBufferSaved', listener: (data: ReplayBufferSaved) => void): unknown;
}

type ReplayBufferStateChanged = OBSEventTypes['ReplayBufferStateChanged'];
type ReplayBufferSaved = OBSEventTypes['ReplayBufferSaved'];

export interface ObsReplayBufferOptions {
  /** obs-websocket address, e.g. `ws://127.0.0.1:4455`. */
  readonly url: string;
  /** Never logged. */
  readonly password?: string | undefined;
  readonly log: Logger;
  /** Upper bound for every request (and for `disconnect()`). */
  readonly requestTimeoutMs?: number;
  /** Upper bound for the websocket handshake (Hello/Identify). */
  readonly connectTimeoutMs?: number;
  /** How long to wait for `ReplayBufferSaved` after OBS accepted `SaveReplayBuffer`. */
  readonly savedEventTimeoutMs?: number;
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** A new client per connection attempt; defaults to obs-websocket-js's `OBSWebSocket`. */
  readonly createSocket?: () => ObsSocket;
  /** Jitter source in [0, 1); injectable so tests can pin the backoff. */
  readonly random?: () => number;
}

export const OBS_REPLAY_BUFFER_DEFAULTS = {
  requestTimeoutMs: 5_000,
  connectTimeoutMs: 5_000,
  // The event normally follows in well under a second; a long buffer on a slow disk takes longer.
  savedEventTimeoutMs: 10_000,
  reconnect: { initialDelayMs: 1_000, maxDelayMs: 30_000 },
  // If the buffer stops again this soon after we restarted it, something in OBS stops it (encoder,
  // disk, a user who really wants it off): leave it stopped rather than fight in a loop.
  minAutoRestartIntervalMs: 10_000,
} as const;

// Only what we listen to: General carries ExitStarted, Outputs the replay buffer events.
const EVENT_SUBSCRIPTIONS = EventSubscription.General | EventSubscription.Outputs;

/** obs-websocket RequestStatus codes we act on. */
const OUTPUT_RUNNING = 500;
const OUTPUT_NOT_RUNNING = 501;
/** obs-websocket WebSocketCloseCode values we explain. */
const CLOSE_AUTHENTICATION_FAILED = 4009;
const CLOSE_UNSUPPORTED_RPC_VERSION = 4010;
const CLOSE_SESSION_INVALIDATED = 4011;

/** One live, identified connection. A new one is made for every successful connect. */
interface Connection {
  readonly socket: ObsSocket;
  /** Rejects (with OBS_UNAVAILABLE) when this connection ends; raced against every request. */
  readonly lost: Promise<never>;
  readonly markLost: (error: AppError) => void;
  readonly detachListeners: () => void;
  /** Resolved at the next OBS_WEBSOCKET_OUTPUT_STARTED event (StartReplayBuffer only begins the start). */
  readonly startedWaiters: Set<() => void>;
  /** False until the buffer check after connecting finished. */
  isReady: boolean;
  /** OBS sent ExitStarted: the buffer stopping now is OBS quitting, not something to undo. */
  isExiting: boolean;
}

interface SavedWaiter {
  readonly promise: Promise<string>;
  readonly resolve: (path: string) => void;
}

type StatusListener = (status: ReplayBufferStatus, reason: string) => void;

export class ObsReplayBuffer implements ReplayBuffer {
  private readonly url: string;
  private readonly password: string | undefined;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly savedEventTimeoutMs: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly createSocket: () => ObsSocket;
  private readonly random: () => number;

  private current: ReplayBufferStatus = Object.freeze({
    connection: 'disconnected',
    isBufferActive: undefined,
    since: new Date(),
    lastError: undefined,
  });
  private readonly listeners = new Set<StatusListener>();
  private connection: Connection | undefined;
  private connectingSocket: ObsSocket | undefined;
  private attempt: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failedAttempts = 0;
  private lastFailure: string | undefined;
  private hasStarted = false;
  private isClosed = false;
  private lastAutoRestartAt = Number.NEGATIVE_INFINITY;
  private knownBufferSeconds: number | undefined;
  private savedWaiter: SavedWaiter | undefined;
  /** Resolves when the last queued save finished; never rejects. */
  private queueTail: Promise<void> = Promise.resolve();

  constructor(options: ObsReplayBufferOptions) {
    const defaults = OBS_REPLAY_BUFFER_DEFAULTS;
    this.url = options.url;
    this.password = options.password;
    this.log = options.log.child({ component: 'obs' });
    this.requestTimeoutMs = options.requestTimeoutMs ?? defaults.requestTimeoutMs;
    this.connectTimeoutMs = options.connectTimeoutMs ?? defaults.connectTimeoutMs;
    this.savedEventTimeoutMs = options.savedEventTimeoutMs ?? defaults.savedEventTimeoutMs;
    this.initialDelayMs = options.reconnect?.initialDelayMs ?? defaults.reconnect.initialDelayMs;
    this.maxDelayMs = options.reconnect?.maxDelayMs ?? defaults.reconnect.maxDelayMs;
    this.createSocket = options.createSocket ?? (() => new OBSWebSocket());
    this.random = options.random ?? Math.random;

    const problems: string[] = [];
    for (const [name, value] of Object.entries({
      requestTimeoutMs: this.requestTimeoutMs,
      connectTimeoutMs: this.connectTimeoutMs,
      savedEventTimeoutMs: this.savedEventTimeoutMs,
      'reconnect.initialDelayMs': this.initialDelayMs,
      'reconnect.maxDelayMs': this.maxDelayMs,
    })) {
      if (!Number.isFinite(value) || value <= 0) problems.push(`${name} must be a positive number`);
    }
    if (this.maxDelayMs < this.initialDelayMs) problems.push('reconnect.maxDelayMs must be >= initialDelayMs');
    if (!/^wss?:\/\//.test(this.url)) problems.push(`url must start with ws:// or wss:// (got "${this.url}")`);
    if (problems.length > 0) {
      throw new AppError('CONFIG_INVALID', `invalid OBS options: ${problems.join('; ')}`);
    }
  }

  status(): ReplayBufferStatus {
    return this.current;
  }

  onStatusChange(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Resolves after the first connection attempt, whatever its outcome: OBS being down is a status, not an
   * error, and reconnecting goes on in the background until close().
   */
  async start(): Promise<void> {
    if (this.hasStarted || this.isClosed) return;
    this.hasStarted = true;
    this.setStatus({ connection: 'connecting' }, `connecting to OBS at ${this.url}`);
    await this.runAttempt();
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    // A handshake in progress: closing its socket makes connect() reject now instead of at its timeout.
    if (this.connectingSocket !== undefined) void this.disconnectQuietly(this.connectingSocket);
    // Dropping the connection first fails its requests in flight at once (e.g. the buffer check right
    // after connecting), so the attempt below ends now rather than at a request timeout.
    const connection = this.connection;
    if (connection !== undefined) this.dropConnection(connection, 'the bot closed the OBS connection');
    await this.attempt;
    if (connection !== undefined) await this.disconnectQuietly(connection.socket);
    this.setStatus(
      { connection: 'disconnected', isBufferActive: undefined, lastError: undefined },
      'the bot closed the OBS connection',
    );
    this.listeners.clear();
    this.log.info('OBS connection closed');
  }

  save<T>(onSaved: (replay: SavedReplay) => Promise<T>, signal?: AbortSignal): Promise<T> {
    // Not connected: fail now rather than queue. A clip asked for "now" is useless a minute later, and
    // the caller should tell the member at once.
    if (this.readyConnection() === undefined) return Promise.reject(this.unavailableError());
    if (signal?.aborted) return Promise.reject(abortedError(signal));

    const previous = this.queueTail;
    let release!: () => void;
    this.queueTail = new Promise<void>((resolve) => {
      release = resolve;
    });
    const run = async (): Promise<T> => {
      try {
        await waitForTurn(previous, signal);
        return await this.saveNow(onSaved, signal);
      } finally {
        // Even when this save was aborted while queued, the next one waits for the one before us.
        void previous.then(release);
      }
    };
    return run();
  }

  // ---------------------------------------------------------------------------------------------- saving

  private async saveNow<T>(onSaved: (replay: SavedReplay) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortedError(signal);
    const connection = this.readyConnection();
    if (connection === undefined) throw this.unavailableError();
    // From here on the signal is ignored on purpose: once SaveReplayBuffer is sent, OBS writes a file and
    // sends an event whatever we do, and the next save must not mistake that event for its own.
    const waiter = this.expectSavedEvent();
    const requestedAt = performance.now();
    try {
      await this.request(connection, 'SaveReplayBuffer');
    } catch (err) {
      this.savedWaiter = undefined;
      throw await this.saveRequestFailed(connection, err);
    }
    let path: string;
    try {
      path = await withTimeout(
        Promise.race([waiter.promise, connection.lost]),
        this.savedEventTimeoutMs,
        () =>
          new AppError(
            'OBS_TIMEOUT',
            `OBS accepted the save but did not report a saved file within ${this.savedEventTimeoutMs} ms`,
          ),
      );
    } finally {
      if (this.savedWaiter === waiter) this.savedWaiter = undefined;
    }
    const latencyMs = Math.round(performance.now() - requestedAt);
    this.log.info({ path, latencyMs }, 'replay saved');
    return onSaved({ path, savedAt: new Date() });
  }

  private expectSavedEvent(): SavedWaiter {
    let resolve!: (path: string) => void;
    const promise = new Promise<string>((r) => {
      resolve = r;
    });
    const waiter = { promise, resolve };
    this.savedWaiter = waiter;
    return waiter;
  }

  private async saveRequestFailed(connection: Connection, err: unknown): Promise<AppError> {
    if (err instanceof AppError) return err;
    if (!(err instanceof OBSWebSocketError)) {
      return new AppError('OBS_REQUEST_FAILED', `OBS refused to save the replay: ${messageOf(err)}`, { cause: err });
    }
    if (err.code !== OUTPUT_NOT_RUNNING) {
      return new AppError(
        'OBS_REQUEST_FAILED',
        `OBS refused to save the replay (code ${err.code}: ${err.message})`,
        { cause: err },
      );
    }
    // The buffer is off. Start it so the next save works, but do not retry this one: a save right after
    // the start gives a clip of a second or less (the buffer is still filling), or no file at all.
    try {
      await this.startBuffer(connection);
    } catch (startErr) {
      return new AppError(
        'OBS_BUFFER_NOT_RUNNING',
        `the OBS replay buffer is not running and could not be started: ${messageOf(startErr)}`,
        { cause: startErr },
      );
    }
    this.log.warn('save found the replay buffer stopped; started it');
    return new AppError(
      'OBS_BUFFER_NOT_RUNNING',
      'the OBS replay buffer was not running; it has been started, so clips work again in a few seconds',
      { cause: err },
    );
  }

  // ------------------------------------------------------------------------------------------ connecting

  private runAttempt(): Promise<void> {
    const attempt = this.connectOnce()
      .catch((err: unknown) => {
        // connectOnce handles its own failures; this is a bug guard, not a code path.
        this.log.error({ err }, 'OBS connection attempt failed unexpectedly');
        this.scheduleReconnect();
      })
      .finally(() => {
        if (this.attempt === attempt) this.attempt = undefined;
      });
    this.attempt = attempt;
    return attempt;
  }

  private async connectOnce(): Promise<void> {
    const socket = this.createSocket();
    this.connectingSocket = socket;
    try {
      await withTimeout(
        socket.connect(this.url, this.password, { eventSubscriptions: EVENT_SUBSCRIPTIONS }),
        this.connectTimeoutMs,
        () => new AppError('OBS_TIMEOUT', `OBS did not finish the handshake within ${this.connectTimeoutMs} ms`),
      );
    } catch (err) {
      this.connectingSocket = undefined;
      void this.disconnectQuietly(socket);
      if (this.isClosed) return;
      this.connectFailed(err);
      return;
    }
    this.connectingSocket = undefined;
    if (this.isClosed) {
      await this.disconnectQuietly(socket);
      return;
    }
    const connection = this.attach(socket);
    this.failedAttempts = 0;
    this.lastFailure = undefined;
    this.log.info({ url: this.url }, 'connected to OBS');
    await this.checkBufferAfterConnect(connection);
  }

  private connectFailed(err: unknown): void {
    const reason = describeConnectFailure(err, this.url);
    const delayMs = this.scheduleReconnect();
    // One warning per kind of failure, not one per retry.
    if (reason !== this.lastFailure) {
      this.log.warn({ reason, retryInMs: delayMs }, 'could not connect to OBS');
    } else {
      this.log.debug({ reason, retryInMs: delayMs, failedAttempts: this.failedAttempts }, 'OBS still unreachable');
    }
    this.lastFailure = reason;
    this.setStatus({ connection: 'disconnected', isBufferActive: undefined, lastError: reason }, `${reason}; retrying`);
  }

  /** Exponential backoff with equal jitter, capped. Returns the delay. */
  private scheduleReconnect(): number {
    if (this.isClosed) return 0;
    clearTimeout(this.reconnectTimer);
    const delayMs = reconnectDelay(this.failedAttempts, this.initialDelayMs, this.maxDelayMs, this.random);
    this.failedAttempts += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.isClosed) return;
      void this.runAttempt();
    }, delayMs);
    return delayMs;
  }

  private attach(socket: ObsSocket): Connection {
    let markLost!: (error: AppError) => void;
    const lost = new Promise<never>((_, reject) => {
      markLost = reject;
    });
    // Nobody may be racing against `lost` when the connection ends; that is not an unhandled failure.
    lost.catch(() => undefined);

    const onClosed = (error: OBSWebSocketError): void => this.onConnectionClosed(connection, error);
    const onExit = (): void => {
      connection.isExiting = true;
      this.log.info('OBS is quitting');
    };
    const onState = (data: ReplayBufferStateChanged): void =>
      this.onBufferStateChanged(connection, data);
    const onSaved = (data: ReplayBufferSaved): void => this.onReplaySaved(data.savedReplayPath);

    const connection: Connection = {
      socket,
      lost,
      markLost,
      detachListeners: () => {
        socket.off('ConnectionClosed', onClosed);
        socket.off('ExitStarted', onExit);
        socket.off('ReplayBufferStateChanged', onState);
        socket.off('ReplayBufferSaved', onSaved);
      },
      startedWaiters: new Set(),
      isReady: false,
      isExiting: false,
    };
    socket.on('ConnectionClosed', onClosed);
    socket.on('ExitStarted', onExit);
    socket.on('ReplayBufferStateChanged', onState);
    socket.on('ReplayBufferSaved', onSaved);
    this.connection = connection;
    return connection;
  }

  bufferSeconds(): number | undefined {
    return this.knownBufferSeconds;
  }

  /**
   * Reads the replay buffer length from the current profile (Simple and Advanced output modes keep it
   * under different sections). Best effort: an OBS that will not say keeps the last known value.
   */
  private async readBufferSeconds(connection: Connection): Promise<void> {
    try {
      const mode = await this.request(connection, 'GetProfileParameter', { parameterCategory: 'Output', parameterName: 'Mode' });
      const category = mode.parameterValue === 'Advanced' ? 'AdvOut' : 'SimpleOutput';
      const { parameterValue, defaultParameterValue } = await this.request(connection, 'GetProfileParameter', {
        parameterCategory: category,
        parameterName: 'RecRBTime',
      });
      const seconds = Number(parameterValue ?? defaultParameterValue);
      if (Number.isFinite(seconds) && seconds > 0) this.knownBufferSeconds = seconds;
    } catch (err) {
      this.log.debug({ err }, 'could not read the replay buffer length');
    }
  }

  private async checkBufferAfterConnect(connection: Connection): Promise<void> {
    await this.readBufferSeconds(connection);
    let reason: string;
    let isBufferActive: boolean;
    let lastError: string | undefined;
    try {
      const { outputActive } = await this.request(connection, 'GetReplayBufferStatus');
      if (outputActive) {
        reason = 'connected to OBS; replay buffer is running';
      } else {
        await this.startBufferAndConfirm(connection);
        reason = 'connected to OBS; replay buffer was stopped; restarted it';
      }
      isBufferActive = true;
      lastError = undefined;
    } catch (err) {
      if (this.connection !== connection) return; // the connection ended meanwhile and said so
      isBufferActive = false;
      lastError = `connected to OBS but the replay buffer is not running and could not be started: ${messageOf(err)} (is Replay Buffer enabled in OBS Settings > Output?)`;
      reason = lastError;
      this.log.error({ err }, 'could not start the OBS replay buffer');
    }
    if (this.connection !== connection) return;
    connection.isReady = true;
    this.log.info({ isBufferActive }, reason);
    this.setStatus({ connection: 'connected', isBufferActive, lastError }, reason);
  }

  /** StartReplayBuffer; "already running" (500) counts as success. The output may still be starting. */
  private async startBuffer(connection: Connection): Promise<void> {
    try {
      await this.request(connection, 'StartReplayBuffer');
    } catch (err) {
      if (err instanceof OBSWebSocketError && err.code === OUTPUT_RUNNING) return;
      throw err;
    }
  }

  /**
   * StartReplayBuffer answers as soon as OBS begins starting the output; the output reports STARTED some
   * 50 ms later (GetReplayBufferStatus says false until then). Only claim "running" once it is.
   */
  private async startBufferAndConfirm(connection: Connection): Promise<void> {
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    // Listen before asking, so the event cannot slip past.
    connection.startedWaiters.add(markStarted);
    try {
      try {
        await this.request(connection, 'StartReplayBuffer');
      } catch (err) {
        if (err instanceof OBSWebSocketError && err.code === OUTPUT_RUNNING) return;
        throw err;
      }
      try {
        await withTimeout(
          Promise.race([started, connection.lost]),
          this.requestTimeoutMs,
          () => new AppError('OBS_TIMEOUT', 'no STARTED event'),
        );
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'OBS_TIMEOUT')) throw err;
        // No event in time: ask OBS rather than guess.
        const { outputActive } = await this.request(connection, 'GetReplayBufferStatus');
        if (!outputActive) {
          throw new AppError(
            'OBS_BUFFER_NOT_RUNNING',
            `OBS accepted StartReplayBuffer but the buffer had not started after ${this.requestTimeoutMs} ms (see the OBS log)`,
          );
        }
      }
    } finally {
      connection.startedWaiters.delete(markStarted);
    }
  }

  // -------------------------------------------------------------------------------------------- events

  private onConnectionClosed(connection: Connection, error: OBSWebSocketError): void {
    if (this.connection !== connection) return;
    const reason = connection.isExiting ? 'OBS quit' : describeClose(error);
    this.log.warn({ code: error.code, closeReason: error.message }, `lost the OBS connection: ${reason}`);
    this.dropConnection(connection, reason);
    const delayMs = this.scheduleReconnect();
    this.setStatus(
      { connection: 'disconnected', isBufferActive: undefined, lastError: reason },
      `${reason}; reconnecting in ${(delayMs / 1000).toFixed(1)} s`,
    );
  }

  private dropConnection(connection: Connection, reason: string): void {
    if (this.connection === connection) this.connection = undefined;
    connection.detachListeners();
    connection.markLost(new AppError('OBS_UNAVAILABLE', `the connection to OBS ended: ${reason}`));
  }

  private onReplaySaved(path: string): void {
    const waiter = this.savedWaiter;
    if (waiter === undefined) {
      // A save from OBS itself (hotkey, another client) or the late answer to a save that timed out.
      this.log.info({ path }, 'OBS saved a replay no save of ours was waiting for; left it where it is');
      return;
    }
    this.savedWaiter = undefined;
    waiter.resolve(path);
  }

  private onBufferStateChanged(
    connection: Connection,
    { outputActive, outputState }: ReplayBufferStateChanged,
  ): void {
    this.log.debug({ outputActive, outputState }, 'replay buffer state changed');
    if (outputState === 'OBS_WEBSOCKET_OUTPUT_STARTED' && connection.startedWaiters.size > 0) {
      // A start of ours was waiting for this; that code reports the outcome in its own words.
      for (const markStarted of connection.startedWaiters) markStarted();
      connection.startedWaiters.clear();
      return;
    }
    // During the post-connect check the check itself reports the outcome.
    if (!connection.isReady || this.connection !== connection) return;
    if (outputState === 'OBS_WEBSOCKET_OUTPUT_STARTED') {
      this.setStatus({ isBufferActive: true, lastError: undefined }, 'replay buffer is running');
      return;
    }
    if (outputState !== 'OBS_WEBSOCKET_OUTPUT_STOPPED') return;
    if (connection.isExiting || this.isClosed) {
      this.setStatus({ isBufferActive: false }, 'replay buffer stopped because OBS is quitting');
      return;
    }
    const now = Date.now();
    if (now - this.lastAutoRestartAt < OBS_REPLAY_BUFFER_DEFAULTS.minAutoRestartIntervalMs) {
      const reason = 'replay buffer stopped again right after a restart; left it stopped (check the OBS log)';
      this.log.error(reason);
      this.setStatus({ isBufferActive: false, lastError: reason }, reason);
      return;
    }
    this.lastAutoRestartAt = now;
    this.log.warn('replay buffer was stopped in OBS; restarting it');
    this.setStatus({ isBufferActive: false }, 'replay buffer was stopped in OBS; restarting it');
    void this.startBufferAndConfirm(connection).then(
      () => {
        if (this.connection !== connection) return;
        this.log.info('replay buffer was stopped; restarted it');
        this.setStatus({ isBufferActive: true, lastError: undefined }, 'replay buffer was stopped; restarted it');
      },
      (err: unknown) => {
        if (this.connection !== connection) return;
        const reason = `replay buffer was stopped and could not be restarted: ${messageOf(err)}`;
        this.log.error({ err }, 'could not restart the replay buffer');
        this.setStatus({ isBufferActive: false, lastError: reason }, reason);
      },
    );
  }

  // ------------------------------------------------------------------------------------------- helpers

  /**
   * Sends one request, bounded by the request timeout and by the connection's end. Rejects with
   * OBSWebSocketError (OBS answered with a failure status) or AppError (timeout, connection gone).
   */
  private async request<Type extends keyof OBSRequestTypes>(
    connection: Connection,
    requestType: Type,
    requestData?: OBSRequestTypes[Type],
  ): Promise<OBSResponseTypes[Type]> {
    const call = connection.socket.call(requestType, requestData).catch((err: unknown) => {
      // obs-websocket-js throws a plain Error('Not connected' / 'Socket not identified') when the socket
      // went away before our ConnectionClosed handler ran.
      if (err instanceof OBSWebSocketError) throw err;
      throw new AppError('OBS_UNAVAILABLE', `OBS is not connected (${messageOf(err)})`, { cause: err });
    });
    return withTimeout(
      Promise.race([call, connection.lost]),
      this.requestTimeoutMs,
      () => new AppError('OBS_TIMEOUT', `OBS did not answer ${requestType} within ${this.requestTimeoutMs} ms`),
    );
  }

  private readyConnection(): Connection | undefined {
    if (this.isClosed) return undefined;
    const connection = this.connection;
    return connection?.isReady === true ? connection : undefined;
  }

  private unavailableError(): AppError {
    if (this.isClosed) return new AppError('OBS_UNAVAILABLE', 'the OBS connection is closed');
    const why = this.current.lastError ?? this.current.connection;
    return new AppError('OBS_UNAVAILABLE', `OBS is not connected (${why})`);
  }

  private async disconnectQuietly(socket: ObsSocket): Promise<void> {
    try {
      await withTimeout(
        socket.disconnect(),
        this.requestTimeoutMs,
        () => new AppError('OBS_TIMEOUT', 'disconnect timed out'),
      );
    } catch (err) {
      this.log.debug({ err }, 'disconnect from OBS failed');
    }
  }

  private setStatus(
    patch: Partial<Pick<ReplayBufferStatus, 'connection' | 'isBufferActive' | 'lastError'>>,
    reason: string,
  ): void {
    const previous = this.current;
    const next: ReplayBufferStatus = {
      connection: patch.connection ?? previous.connection,
      isBufferActive: 'isBufferActive' in patch ? patch.isBufferActive : previous.isBufferActive,
      lastError: 'lastError' in patch ? patch.lastError : previous.lastError,
      since: patch.connection !== undefined && patch.connection !== previous.connection ? new Date() : previous.since,
    };
    if (
      next.connection === previous.connection &&
      next.isBufferActive === previous.isBufferActive &&
      next.lastError === previous.lastError
    ) {
      return;
    }
    this.current = Object.freeze(next);
    for (const listener of this.listeners) {
      try {
        listener(this.current, reason);
      } catch (err) {
        this.log.error({ err }, 'OBS status listener threw');
      }
    }
  }
}

/** Exponential backoff with equal jitter: half the delay fixed, half random, never above `maxMs`. */
export function reconnectDelay(
  failedAttempts: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  return backoffDelay(failedAttempts, { initialMs, maxMs, factor: 2 }, random);
}

async function waitForTurn(previous: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) {
    await previous;
    return;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([previous, aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

function abortedError(signal: AbortSignal): AppError {
  return new AppError('ABORTED', 'the save was cancelled before it started', { cause: signal.reason });
}

function messageOf(err: unknown): string {
  if (err instanceof OBSWebSocketError) return `${err.message || 'no details'} (code ${err.code})`;
  if (err instanceof Error) return err.message;
  return String(err);
}

function describeClose(error: OBSWebSocketError): string {
  switch (error.code) {
    case 1000:
    case 1001:
      return 'OBS closed the connection (OBS is quitting)';
    case 1006:
      return 'the connection to OBS dropped (OBS closed or crashed)';
    case CLOSE_SESSION_INVALIDATED:
      return 'OBS ended the session (the WebSocket server settings changed?)';
    default:
      return `OBS closed the connection (code ${error.code}${error.message ? `: ${error.message}` : ''})`;
  }
}

/** Plain words for a failed connect, for logs and for /status. Never includes the password. */
export function describeConnectFailure(err: unknown, url: string): string {
  if (err instanceof AppError) return `${err.message} at ${url}`;
  if (err instanceof OBSWebSocketError) {
    if (err.code === CLOSE_AUTHENTICATION_FAILED) {
      return `OBS rejected the password (authentication failed): check OBS_PASSWORD against OBS > Tools > WebSocket Server Settings`;
    }
    if (err.code === CLOSE_UNSUPPORTED_RPC_VERSION) {
      return `OBS at ${url} speaks an obs-websocket version this bot does not support (needs obs-websocket 5, OBS 28 or newer)`;
    }
    const message = err.message;
    if (/ECONNREFUSED/.test(message)) {
      return `nothing is listening at ${url}: is OBS running with its WebSocket server enabled?`;
    }
    if (/ENOTFOUND|EAI_AGAIN/.test(message)) return `the host in ${url} could not be found`;
    if (/EHOSTUNREACH|ENETUNREACH|ETIMEDOUT/.test(message)) return `${url} cannot be reached (${message})`;
    if (err.code !== -1) return describeClose(err);
    return `could not connect to OBS at ${url}${message ? `: ${message}` : ''}`;
  }
  return `could not connect to OBS at ${url}: ${messageOf(err)}`;
}

