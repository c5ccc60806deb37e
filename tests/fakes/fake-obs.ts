/**
 * An in-process stand-in for obs-websocket-js's client and the OBS behind it (replay buffer state, request
 * handlers that tests can override, and ways to misbehave), for the adapter's unit tests with fake timers.
 */
import { EventEmitter } from 'node:events';
import { OBSWebSocketError, type OBSRequestTypes, type OBSResponseTypes } from 'obs-websocket-js';
import type { ObsSocket } from '../../src/obs/obs-replay-buffer.js';

/** The password FakeObs accepts (tests check it never reaches a log line). */
export const FAKE_OBS_PASSWORD = 'hunter2-secret';

type RequestType = keyof OBSRequestTypes;
type Handler = (socket: FakeObsSocket, requestData?: unknown) => Promise<unknown>;

/** One client connection, as obs-websocket-js's OBSWebSocket behaves (measured against a real OBS 30). */
export class FakeObsSocket extends EventEmitter implements ObsSocket {
  isConnected = false;
  private abortConnect: (() => void) | undefined;

  constructor(private readonly obs: FakeObs) {
    super();
  }

  async connect(_url: string, password: string | undefined): Promise<unknown> {
    this.obs.connectAttempts.push(Date.now());
    // Like the real client, disconnect() during the handshake makes connect() reject.
    const aborted = new Promise<never>((_, reject) => {
      this.abortConnect = () => reject(new OBSWebSocketError(1006, ''));
    });
    try {
      await Promise.race([this.obs.connectBehaviour(password), aborted]);
    } finally {
      this.abortConnect = undefined;
    }
    this.isConnected = true;
    this.obs.sockets.push(this);
    return {};
  }

  async disconnect(): Promise<void> {
    this.abortConnect?.();
    if (!this.isConnected) return;
    this.isConnected = false;
    this.emit('ConnectionClosed', new OBSWebSocketError(1000, ''));
  }

  call<Type extends RequestType>(requestType: Type, requestData?: unknown): Promise<OBSResponseTypes[Type]> {
    if (!this.isConnected) return Promise.reject(new Error('Not connected'));
    this.obs.timeline.push(`request ${requestType}`);
    const handler = this.obs.handlers.get(requestType) ?? this.obs.defaultHandler(requestType);
    return handler(this, requestData) as Promise<OBSResponseTypes[Type]>;
  }
}

/** The OBS side: replay buffer state, request handlers (overridable), and ways to misbehave. */
export class FakeObs {
  readonly connectAttempts: number[] = [];
  readonly sockets: FakeObsSocket[] = [];
  readonly timeline: string[] = [];
  readonly handlers = new Map<RequestType, Handler>();
  isBufferActive = true;
  /** The profile's output section as OBS keeps it: Mode, and RecRBTime under SimpleOutput or AdvOut. */
  profile: Record<string, Record<string, string>> = { Output: { Mode: 'Simple' }, SimpleOutput: { RecRBTime: '20' } };
  savedEventDelayMs = 200;
  saves = 0;
  connectBehaviour: (password: string | undefined) => Promise<void> = async (password) => {
    if (password !== FAKE_OBS_PASSWORD) throw new OBSWebSocketError(4009, 'Authentication failed.');
  };

  readonly createSocket = (): ObsSocket => new FakeObsSocket(this);

  get live(): FakeObsSocket {
    const socket = this.sockets.filter((s) => s.isConnected).at(-1);
    if (socket === undefined) throw new Error('no live fake socket');
    return socket;
  }

  defaultHandler(requestType: RequestType): Handler {
    switch (requestType) {
      case 'GetReplayBufferStatus':
        return async () => ({ outputActive: this.isBufferActive });
      case 'GetProfileParameter':
        return async (_socket, data) => {
          const { parameterCategory, parameterName } = data as { parameterCategory: string; parameterName: string };
          return { parameterValue: this.profile[parameterCategory]?.[parameterName] ?? null, defaultParameterValue: null };
        };
      case 'StartReplayBuffer':
        return async (socket) => {
          if (this.isBufferActive) throw new OBSWebSocketError(500, 'The replay buffer is already active.');
          // Like OBS: the request answers at once, the output reports STARTED a little later.
          setTimeout(() => {
            this.isBufferActive = true;
            socket.emit('ReplayBufferStateChanged', { outputActive: false, outputState: 'OBS_WEBSOCKET_OUTPUT_STARTING' });
            socket.emit('ReplayBufferStateChanged', { outputActive: true, outputState: 'OBS_WEBSOCKET_OUTPUT_STARTED' });
          }, 50);
          return undefined;
        };
      case 'SaveReplayBuffer':
        return async (socket) => {
          if (!this.isBufferActive) throw new OBSWebSocketError(501, 'Replay buffer is not active.');
          this.saves += 1;
          const path = `/rec/Replay ${this.saves}.mp4`;
          setTimeout(() => this.emitSaved(socket, path), this.savedEventDelayMs);
          return undefined;
        };
      default:
        return async () => {
          throw new OBSWebSocketError(204, `fake has no ${requestType}`);
        };
    }
  }

  emitSaved(socket: FakeObsSocket, path: string): void {
    this.timeline.push(`event saved ${path}`);
    socket.emit('ReplayBufferSaved', { savedReplayPath: path });
  }

  /** The buffer stopped by someone in OBS. */
  stopBuffer(): void {
    this.isBufferActive = false;
    const socket = this.live;
    socket.emit('ReplayBufferStateChanged', { outputActive: false, outputState: 'OBS_WEBSOCKET_OUTPUT_STOPPING' });
    socket.emit('ReplayBufferStateChanged', { outputActive: false, outputState: 'OBS_WEBSOCKET_OUTPUT_STOPPED' });
  }

  /** OBS killed: close 1006, requests in flight never settle (they are simply never answered). */
  kill(): void {
    for (const socket of this.sockets.filter((s) => s.isConnected)) {
      socket.isConnected = false;
      socket.emit('ConnectionClosed', new OBSWebSocketError(1006, ''));
    }
    this.connectBehaviour = async () => {
      throw new OBSWebSocketError(-1, 'connect ECONNREFUSED 127.0.0.1:4455');
    };
  }

  comeBack(): void {
    this.connectBehaviour = async () => undefined;
  }
}

