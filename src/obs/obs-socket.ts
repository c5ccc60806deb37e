/**
 * The slice of obs-websocket-js the adapter talks to, and the one way it sends requests: typed, and
 * bounded by a timeout and by the connection's end.
 *
 * When OBS dies, a request already in flight NEVER settles (obs-websocket-js 5.0.8 against OBS 29.0.2):
 * every request here has its own timeout and also fails as soon as the connection closes.
 */
import {
  EventSubscription,
  OBSWebSocketError,
  type OBSEventTypes,
  type OBSRequestTypes,
  type OBSResponseTypes,
} from 'obs-websocket-js';
import type { Logger } from 'pino';
import { AppError, withTimeout } from '../util/errors.js';
import { messageOf } from './obs-errors.js';

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

export type ReplayBufferStateChanged = OBSEventTypes['ReplayBufferStateChanged'];
export type ReplayBufferSaved = OBSEventTypes['ReplayBufferSaved'];

// Only what we listen to: General carries ExitStarted, Outputs the replay buffer events.
export const EVENT_SUBSCRIPTIONS = EventSubscription.General | EventSubscription.Outputs;

/** What a request needs: the socket, and a promise that rejects (with OBS_UNAVAILABLE) when it closes. */
export interface RequestChannel {
  readonly socket: ObsSocket;
  readonly lost: Promise<never>;
}

/**
 * Sends one request, bounded by the request timeout and by the connection's end. Rejects with
 * OBSWebSocketError (OBS answered with a failure status) or AppError (timeout, connection gone).
 */
export async function requestWithTimeout<Type extends keyof OBSRequestTypes>(
  channel: RequestChannel,
  timeoutMs: number,
  requestType: Type,
  requestData?: OBSRequestTypes[Type],
): Promise<OBSResponseTypes[Type]> {
  const call = channel.socket.call(requestType, requestData).catch((err: unknown) => {
    // obs-websocket-js throws a plain Error('Not connected' / 'Socket not identified') when the socket
    // went away before our ConnectionClosed handler ran.
    if (err instanceof OBSWebSocketError) throw err;
    throw new AppError('OBS_UNAVAILABLE', `OBS is not connected (${messageOf(err)})`, { cause: err });
  });
  return withTimeout(
    Promise.race([call, channel.lost]),
    timeoutMs,
    () => new AppError('OBS_TIMEOUT', `OBS did not answer ${requestType} within ${timeoutMs} ms`),
  );
}

/** `disconnect()`, bounded by `timeoutMs`; a failure is only worth a debug line. */
export async function disconnectQuietly(socket: ObsSocket, timeoutMs: number, log: Logger): Promise<void> {
  try {
    await withTimeout(
      socket.disconnect(),
      timeoutMs,
      () => new AppError('OBS_TIMEOUT', 'disconnect timed out'),
    );
  } catch (err) {
    log.debug({ err }, 'disconnect from OBS failed');
  }
}
