/**
 * A live connection to OBS: its socket, the promise that fails every request when it ends, and the
 * listeners that hand its events to the adapter.
 */
import type { OBSWebSocketError } from 'obs-websocket-js';
import type { AppError } from '../util/errors.js';
import type { ObsSocket, ReplayBufferSaved, ReplayBufferStateChanged, RequestChannel } from './obs-socket.js';

/** One live, identified connection. A new one is made for every successful connect. */
export interface Connection extends RequestChannel {
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

/** What the adapter does with the events of one connection. */
export interface ConnectionEvents {
  onClosed(connection: Connection, error: OBSWebSocketError): void;
  /** Called after `connection.isExiting` was set. */
  onExitStarted(connection: Connection): void;
  onBufferStateChanged(connection: Connection, data: ReplayBufferStateChanged): void;
  onReplaySaved(path: string): void;
}

/** Wraps a socket that finished its handshake in a Connection and starts listening to its events. */
export function attachConnection(socket: ObsSocket, events: ConnectionEvents): Connection {
  let markLost!: (error: AppError) => void;
  const lost = new Promise<never>((_, reject) => {
    markLost = reject;
  });
  // Nobody may be racing against `lost` when the connection ends; that is not an unhandled failure.
  lost.catch(() => undefined);

  const onClosed = (error: OBSWebSocketError): void => events.onClosed(connection, error);
  const onExit = (): void => {
    connection.isExiting = true;
    events.onExitStarted(connection);
  };
  const onState = (data: ReplayBufferStateChanged): void => events.onBufferStateChanged(connection, data);
  const onSaved = (data: ReplayBufferSaved): void => events.onReplaySaved(data.savedReplayPath);

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
  return connection;
}
