/**
 * obs-websocket's status and close codes, and plain words for them (for logs and for /status).
 * See https://github.com/obsproject/obs-websocket/blob/master/docs/generated/protocol.md
 * (RequestStatus, WebSocketCloseCode).
 */
import { OBSWebSocketError } from 'obs-websocket-js';
import { AppError } from '../util/errors.js';

/** obs-websocket RequestStatus codes we act on. */
export const OUTPUT_RUNNING = 500;
export const OUTPUT_NOT_RUNNING = 501;
/** obs-websocket WebSocketCloseCode values we explain. */
export const CLOSE_AUTHENTICATION_FAILED = 4009;
export const CLOSE_UNSUPPORTED_RPC_VERSION = 4010;
export const CLOSE_SESSION_INVALIDATED = 4011;

export function messageOf(err: unknown): string {
  if (err instanceof OBSWebSocketError) return `${err.message || 'no details'} (code ${err.code})`;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function describeClose(error: OBSWebSocketError): string {
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
