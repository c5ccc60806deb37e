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
 *
 * This class is the orchestrator: connection lifecycle, the buffer check after connecting, reacting to
 * OBS's events, and the save flow. The parts live beside it:
 * - obs-options.ts: options, defaults, validation
 * - obs-socket.ts: the ObsSocket interface, requests with timeouts, disconnect
 * - obs-connection.ts: one live connection and its event listeners
 * - obs-buffer-control.ts: starting the replay buffer, reading its length
 * - obs-save-queue.ts: one save at a time, matching a save to its ReplayBufferSaved event
 * - obs-reconnect.ts: backoff and the reconnect timer
 * - obs-status.ts: the current status and its listeners
 * - obs-errors.ts: status/close codes and plain words for connect failures and closes
 */
import { OBSWebSocketError, type OBSRequestTypes, type OBSResponseTypes } from 'obs-websocket-js';
import type { Logger } from 'pino';
import { AppError, withTimeout } from '../util/errors.js';
import type { ReplayBuffer, ReplayBufferStatus, SavedReplay } from './replay-buffer.js';
import { readBufferSeconds, readRecordDirectory, startBufferAndConfirm } from './obs-buffer-control.js';
import { attachConnection, type Connection } from './obs-connection.js';
import { describeClose, describeConnectFailure, messageOf, OUTPUT_NOT_RUNNING } from './obs-errors.js';
import {
  resolveObsSettings,
  type ObsReplayBufferOptions,
  type ObsSettings,
} from './obs-options.js';
import { ReconnectSchedule } from './obs-reconnect.js';
import { abortedError, SavedEventSlot, SaveQueue } from './obs-save-queue.js';
import {
  disconnectQuietly,
  EVENT_SUBSCRIPTIONS,
  requestWithTimeout,
  type ObsSocket,
  type ReplayBufferStateChanged,
} from './obs-socket.js';
import { ObsStatusTracker, type StatusListener, type StatusPatch } from './obs-status.js';
import { CAPTURE_DEFAULTS } from '../capture/defaults.js';

// The names this module has always exported; other files import them from here.
export { describeConnectFailure } from './obs-errors.js';
export type { ObsReplayBufferOptions } from './obs-options.js';
export { reconnectDelay } from './obs-reconnect.js';
export type { ObsSocket } from './obs-socket.js';

export class ObsReplayBuffer implements ReplayBuffer {
  private readonly settings: ObsSettings;
  private readonly log: Logger;
  private readonly statusTracker: ObsStatusTracker;
  private readonly reconnect: ReconnectSchedule;
  private readonly saveQueue = new SaveQueue();
  private readonly savedEvent = new SavedEventSlot();

  private connection: Connection | undefined;
  private connectingSocket: ObsSocket | undefined;
  private attempt: Promise<void> | undefined;
  private lastFailure: string | undefined;
  private hasStarted = false;
  private isClosed = false;
  private lastAutoRestartAt = Number.NEGATIVE_INFINITY;
  private knownBufferSeconds: number | undefined;
  private knownRecordDirectory: string | undefined;

  constructor(options: ObsReplayBufferOptions) {
    this.log = options.log.child({ component: 'obs' });
    this.statusTracker = new ObsStatusTracker(this.log);
    this.settings = resolveObsSettings(options);
    this.reconnect = new ReconnectSchedule({
      initialDelayMs: this.settings.initialDelayMs,
      maxDelayMs: this.settings.maxDelayMs,
      random: this.settings.random,
      onDue: () => {
        if (this.isClosed) return;
        void this.runAttempt();
      },
    });
  }

  status(): ReplayBufferStatus {
    return this.statusTracker.get();
  }

  onStatusChange(listener: StatusListener): () => void {
    return this.statusTracker.onChange(listener);
  }

  bufferSeconds(): number | undefined {
    return this.knownBufferSeconds;
  }

  recordDirectory(): string | undefined {
    return this.knownRecordDirectory;
  }

  /**
   * Resolves after the first connection attempt, whatever its outcome: OBS being down is a status, not an
   * error, and reconnecting goes on in the background until close().
   */
  async start(): Promise<void> {
    if (this.hasStarted || this.isClosed) return;
    this.hasStarted = true;
    this.setStatus({ connection: 'connecting' }, `connecting to OBS at ${this.settings.url}`);
    await this.runAttempt();
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.reconnect.cancel();
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
    this.statusTracker.removeAllListeners();
    this.log.info('OBS connection closed');
  }

  save<T>(onSaved: (replay: SavedReplay) => Promise<T>, signal?: AbortSignal): Promise<T> {
    // Not connected: fail now rather than queue. A clip asked for "now" is useless a minute later, and
    // the caller should tell the member at once.
    if (this.readyConnection() === undefined) return Promise.reject(this.unavailableError());
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    return this.saveQueue.enqueue(() => this.saveNow(onSaved, signal), signal);
  }

  // ---------------------------------------------------------------------------------------------- saving

  private async saveNow<T>(onSaved: (replay: SavedReplay) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortedError(signal);
    const connection = this.readyConnection();
    if (connection === undefined) throw this.unavailableError();
    // From here on the signal is ignored on purpose: once SaveReplayBuffer is sent, OBS writes a file and
    // sends an event whatever we do, and the next save must not mistake that event for its own.
    const waiter = this.savedEvent.expect();
    const requestedAt = performance.now();
    try {
      await this.request(connection, 'SaveReplayBuffer');
    } catch (err) {
      this.savedEvent.clear();
      throw await this.saveRequestFailed(connection, err);
    }
    const { savedEventTimeoutMs } = this.settings;
    let path: string;
    try {
      path = await withTimeout(
        Promise.race([waiter.promise, connection.lost]),
        savedEventTimeoutMs,
        () =>
          new AppError(
            'OBS_TIMEOUT',
            `OBS accepted the save but did not report a saved file within ${savedEventTimeoutMs} ms`,
          ),
      );
    } finally {
      this.savedEvent.release(waiter);
    }
    const latencyMs = Math.round(performance.now() - requestedAt);
    this.log.info({ path, latencyMs }, 'replay saved');
    return onSaved({ path, savedAt: new Date() });
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
      await startBufferAndConfirm(connection, this.settings.requestTimeoutMs, this.log);
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
    const { url, password, connectTimeoutMs } = this.settings;
    const socket = this.settings.createSocket();
    this.connectingSocket = socket;
    try {
      await withTimeout(
        socket.connect(url, password, { eventSubscriptions: EVENT_SUBSCRIPTIONS }),
        connectTimeoutMs,
        () => new AppError('OBS_TIMEOUT', `OBS did not finish the handshake within ${connectTimeoutMs} ms`),
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
    this.reconnect.succeeded();
    this.lastFailure = undefined;
    this.log.info({ url }, 'connected to OBS');
    await this.checkBufferAfterConnect(connection);
  }

  private connectFailed(err: unknown): void {
    const reason = describeConnectFailure(err, this.settings.url);
    const delayMs = this.scheduleReconnect();
    // One warning per kind of failure, not one per retry.
    if (reason !== this.lastFailure) {
      this.log.warn({ reason, retryInMs: delayMs }, 'could not connect to OBS');
    } else {
      this.log.debug(
        { reason, retryInMs: delayMs, failedAttempts: this.reconnect.failedAttempts },
        'OBS still unreachable',
      );
    }
    this.lastFailure = reason;
    this.setStatus({ connection: 'disconnected', isBufferActive: undefined, lastError: reason }, `${reason}; retrying`);
  }

  /** Exponential backoff with equal jitter, capped. Returns the delay. */
  private scheduleReconnect(): number {
    if (this.isClosed) return 0;
    return this.reconnect.schedule();
  }

  private attach(socket: ObsSocket): Connection {
    const connection = attachConnection(socket, {
      onClosed: (closed, error) => this.onConnectionClosed(closed, error),
      onExitStarted: () => this.log.info('OBS is quitting'),
      onBufferStateChanged: (changed, data) => this.onBufferStateChanged(changed, data),
      onReplaySaved: (path) => this.onReplaySaved(path),
    });
    this.connection = connection;
    return connection;
  }

  private async checkBufferAfterConnect(connection: Connection): Promise<void> {
    const seconds = await readBufferSeconds(connection, this.settings.requestTimeoutMs, this.log);
    // An OBS that will not say keeps the last known value.
    if (seconds !== undefined) this.knownBufferSeconds = seconds;
    this.knownRecordDirectory = (await readRecordDirectory(connection, this.settings.requestTimeoutMs, this.log)) ?? this.knownRecordDirectory;
    let reason: string;
    let isBufferActive: boolean;
    let lastError: string | undefined;
    try {
      const { outputActive } = await this.request(connection, 'GetReplayBufferStatus');
      if (outputActive) {
        reason = 'connected to OBS; replay buffer is running';
      } else {
        await startBufferAndConfirm(connection, this.settings.requestTimeoutMs, this.log);
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
    if (this.savedEvent.deliver(path)) return;
    // A save from OBS itself (hotkey, another client) or the late answer to a save that timed out.
    this.log.info({ path }, 'OBS saved a replay no save of ours was waiting for; left it where it is');
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
    if (now - this.lastAutoRestartAt < CAPTURE_DEFAULTS.obs.minAutoRestartIntervalMs) {
      const reason = 'replay buffer stopped again right after a restart; left it stopped (check the OBS log)';
      this.log.error(reason);
      this.setStatus({ isBufferActive: false, lastError: reason }, reason);
      return;
    }
    this.lastAutoRestartAt = now;
    this.log.warn('replay buffer was stopped in OBS; restarting it');
    this.setStatus({ isBufferActive: false }, 'replay buffer was stopped in OBS; restarting it');
    void startBufferAndConfirm(connection, this.settings.requestTimeoutMs, this.log).then(
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

  /** A request on `connection`, bounded by the request timeout and by the connection's end. */
  private request<Type extends keyof OBSRequestTypes>(
    connection: Connection,
    requestType: Type,
    requestData?: OBSRequestTypes[Type],
  ): Promise<OBSResponseTypes[Type]> {
    return requestWithTimeout(connection, this.settings.requestTimeoutMs, requestType, requestData);
  }

  private readyConnection(): Connection | undefined {
    if (this.isClosed) return undefined;
    const connection = this.connection;
    return connection?.isReady === true ? connection : undefined;
  }

  private unavailableError(): AppError {
    if (this.isClosed) return new AppError('OBS_UNAVAILABLE', 'the OBS connection is closed');
    const current = this.statusTracker.get();
    const why = current.lastError ?? current.connection;
    return new AppError('OBS_UNAVAILABLE', `OBS is not connected (${why})`);
  }

  private disconnectQuietly(socket: ObsSocket): Promise<void> {
    return disconnectQuietly(socket, this.settings.requestTimeoutMs, this.log);
  }

  private setStatus(patch: StatusPatch, reason: string): void {
    this.statusTracker.set(patch, reason);
  }
}
