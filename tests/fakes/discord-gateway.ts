/**
 * The gateway half of the fake: a `ws` server on the fake's HTTP server (noServer upgrade) that speaks
 * enough of Discord's gateway for @discordjs/ws: HELLO, IDENTIFY -> READY + initial dispatches,
 * heartbeat ACKs, RESUME, and dispatches on demand. JSON encoding only (discord.js uses zlib-stream only
 * when zlib-sync is installed; it is not).
 * Protocol: https://discord.com/developers/docs/events/gateway
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord.js';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

export interface GatewayOptions {
  /** Path the gateway answers upgrades on; GET /gateway/bot points clients here. */
  path: string;
  heartbeatIntervalMs: number;
  isTokenAccepted(token: string): boolean;
  /** READY's `d` without the per-session fields (session_id, resume_gateway_url, shard). */
  readyPayload(): Record<string, unknown>;
  /** What a freshly identified client receives after READY, in order (GUILD_CREATE). */
  initialDispatches(): Array<{ event: string; data: unknown }>;
}

interface Session {
  id: string;
  socket: WebSocket;
  /** Last sequence number sent; clients echo it in heartbeats and RESUME. */
  sequence: number;
  isReady: boolean;
}

/** Close codes after which Discord forgets the session (https://discord.com/developers/docs/topics/opcodes-and-status-codes). */
const NON_RESUMABLE_CLOSES = new Set([1000, 1001]);

export class FakeGateway {
  readonly #options: GatewayOptions;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sessions = new Set<Session>();
  /** Sessions that dropped without a clean close; a RESUME naming one succeeds. */
  readonly #resumable = new Map<string, number>();
  #url = '';

  constructor(options: GatewayOptions) {
    this.#options = options;
  }

  /** Take over WebSocket upgrades on `server`; `origin` is like ws://127.0.0.1:1234. */
  attach(server: Server, origin: string): void {
    this.#url = `${origin}${this.#options.path}`;
    server.on('upgrade', (request, socket, head) => this.#onUpgrade(request, socket, head));
  }

  get url(): string {
    return this.#url;
  }

  /** Clients that completed IDENTIFY (or RESUME) and are still connected. */
  get readyCount(): number {
    return [...this.#sessions].filter((session) => session.isReady).length;
  }

  /** Send a dispatch (op 0) to every ready client; returns how many got it. */
  dispatch(event: string, data: unknown): number {
    let delivered = 0;
    for (const session of this.#sessions) {
      if (!session.isReady || session.socket.readyState !== WebSocket.OPEN) continue;
      this.#sendDispatch(session, event, data);
      delivered += 1;
    }
    return delivered;
  }

  /** Ask every ready client to reconnect (op 7); discord.js closes and RESUMEs its session. */
  requestReconnect(): number {
    let asked = 0;
    for (const session of this.#sessions) {
      if (!session.isReady) continue;
      this.#send(session, { op: GatewayOpcodes.Reconnect });
      asked += 1;
    }
    return asked;
  }

  /** Drop every connection at once; clients see an abnormal close (as when Discord goes away). */
  async close(): Promise<void> {
    for (const session of this.#sessions) session.socket.terminate();
    this.#sessions.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(request.url ?? '/', 'http://fake.invalid').pathname;
    if (path !== this.#options.path) {
      socket.destroy();
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#onConnection(ws));
  }

  #onConnection(socket: WebSocket): void {
    const session: Session = { id: randomUUID().replaceAll('-', ''), socket, sequence: 0, isReady: false };
    this.#sessions.add(session);
    socket.on('message', (data) => this.#onMessage(session, data));
    socket.on('close', (code) => this.#onClose(session, code));
    // A socket error is followed by 'close'; listening keeps it from becoming an unhandled 'error' event.
    socket.on('error', () => undefined);
    this.#send(session, { op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.#options.heartbeatIntervalMs } });
  }

  #onClose(session: Session, code: number): void {
    this.#sessions.delete(session);
    if (session.isReady && !NON_RESUMABLE_CLOSES.has(code)) this.#resumable.set(session.id, session.sequence);
    else this.#resumable.delete(session.id);
  }

  #onMessage(session: Session, data: RawData): void {
    const payload = parsePayload(data);
    if (!payload) {
      session.socket.close(4002, 'Decode error');
      return;
    }
    switch (payload.op) {
      case GatewayOpcodes.Heartbeat:
        this.#send(session, { op: GatewayOpcodes.HeartbeatAck });
        return;
      case GatewayOpcodes.Identify:
        this.#identify(session, payload.d);
        return;
      case GatewayOpcodes.Resume:
        this.#resume(session, payload.d);
        return;
      default:
        // Presence updates, member requests, voice: nothing a clip bot's fake needs to answer.
        return;
    }
  }

  #identify(session: Session, data: unknown): void {
    if (session.isReady) {
      session.socket.close(4005, 'Already authenticated.');
      return;
    }
    const token = isObject(data) && typeof data.token === 'string' ? data.token : '';
    if (!this.#options.isTokenAccepted(token)) {
      session.socket.close(4004, 'Authentication failed.');
      return;
    }
    const shard = isObject(data) && Array.isArray(data.shard) ? data.shard : [0, 1];
    session.isReady = true;
    this.#sendDispatch(session, GatewayDispatchEvents.Ready, {
      ...this.#options.readyPayload(),
      session_id: session.id,
      resume_gateway_url: this.#url,
      shard,
    });
    for (const { event, data: eventData } of this.#options.initialDispatches()) {
      this.#sendDispatch(session, event, eventData);
    }
  }

  #resume(session: Session, data: unknown): void {
    const token = isObject(data) && typeof data.token === 'string' ? data.token : '';
    if (!this.#options.isTokenAccepted(token)) {
      session.socket.close(4004, 'Authentication failed.');
      return;
    }
    const sessionId = isObject(data) && typeof data.session_id === 'string' ? data.session_id : '';
    const sequence = this.#resumable.get(sessionId);
    if (sequence === undefined) {
      // d: false = "cannot resume, identify again" (opcodes-and-status-codes: Invalid Session).
      this.#send(session, { op: GatewayOpcodes.InvalidSession, d: false });
      return;
    }
    this.#resumable.delete(sessionId);
    Object.assign(session, { id: sessionId, sequence, isReady: true });
    this.#sendDispatch(session, GatewayDispatchEvents.Resumed, {});
  }

  #sendDispatch(session: Session, event: string, data: unknown): void {
    session.sequence += 1;
    this.#send(session, { op: GatewayOpcodes.Dispatch, t: event, s: session.sequence, d: data });
  }

  #send(session: Session, payload: { op: number; d?: unknown; s?: number; t?: string }): void {
    const frame = { s: null, t: null, d: null, ...payload };
    session.socket.send(JSON.stringify(frame));
  }
}

function parsePayload(data: RawData): { op: number; d: unknown } | undefined {
  try {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const text = bytes.toString('utf8');
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) && typeof parsed.op === 'number' ? { op: parsed.op, d: parsed.d } : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
