/**
 * A local TikTok that speaks the protocol tiktok-live-connector 2.5 uses, with real protobuf frames
 * built from the proto package's own message types (re-exported by tiktok-live-connector):
 *
 * - web page `/@{user}/live` with the SIGI_STATE JSON (room id, status) and web API
 *   `/api-live/user/room/` (same data as JSON; unknown user -> statusCode 19881007 user_not_found)
 * - webcast API `/webcast/room/info/` (status 2 live, 4 offline)
 * - the signing service: `/webcast/anchors/{user}/room_id` and `/webcast/rooms/{roomId}/connect`,
 *   the latter answering a ProtoMessageFetchResult (initial data, cursor, internalExt, pushServer);
 *   `/accounts/me/rate_limits` tells the limits it advertises and both routes enforce them (429 with
 *   retry-after and x-ratelimit-* headers beyond them), each minute/hour/day window SLIDING as on the
 *   real service: a use counts for one window length after it was made, and `reset_at` is when the
 *   oldest use still counted leaves (one slot frees then, not the whole window)
 * - the push WebSocket: WebcastPushFrame holding gzipped ProtoMessageFetchResult, answering the
 *   client's room-enter and heartbeat frames and counting its acks; a room can turn "zombie" (heartbeats
 *   answered, nothing else) or send viewer counts on its own like a real live (`flow`)
 *
 * Everything is served over HTTPS/WSS on one loopback port with a throw-away self-signed certificate
 * made by the `openssl` CLI at start; `transport.caCertificate` carries it to the adapter.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  BaseProtoMessage,
  CommonMessageData,
  ControlAction,
  ProtoMessageFetchResult,
  User,
  Gift,
  WebcastChatMessage,
  WebcastControlMessage,
  WebcastGiftMessage,
  WebcastPushFrame,
  WebcastRoomUserSeqMessage,
} from 'tiktok-live-connector';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { TikTokTransport } from '../../src/monitor/types.js';

const execFileAsync = promisify(execFile);
const EMPTY = new Uint8Array(0);
const PUSH_PATH = '/webcast/im/push/v2/';
/** What TikTok's web API answers for a handle that does not exist (seen in the library's issues). */
const USER_NOT_FOUND = { statusCode: 19881007, message: 'user_not_found' };

export interface FakeChat {
  /** TikTok message id, a numeric string (int64 on the wire). Generated when absent. */
  readonly msgId?: string;
  /** The chatter's @handle (`user.displayId`). */
  readonly handle: string;
  /** Display name (`user.nickname`); defaults to the handle. */
  readonly nickname?: string;
  readonly text: string;
}

export interface FakeGift {
  /** The sender's @handle (`user.displayId`). */
  readonly handle: string;
  /** `gift.name`, e.g. `Rose`. */
  readonly giftName: string;
  /** `gift.diamondCount`: what one is worth. */
  readonly diamondCount: number;
  /** `repeatCount`; for a streak, the running count so far. Default 1. */
  readonly repeatCount?: number;
  /** A streakable gift (`gift.type` 1, `gift.combo`): TikTok repeats it while the viewer taps. Default false. */
  readonly isStreakable?: boolean;
  /** `repeatEnd` 1: the streak's last message, carrying its total. Default true. */
  readonly isStreakEnd?: boolean;
  /** The same for every message of one streak (`groupId`). */
  readonly groupId?: string;
}

export interface FakeSignRequest {
  readonly path: string;
  /** The `X-Api-Key` header the client sent, if any. */
  readonly apiKeyHeader: string | undefined;
  /** True when the key also travelled in the URL (it should not). */
  readonly hasApiKeyInQuery: boolean;
}

export interface FakeTikTokStats {
  /** GET /@user/live (room id lookup and the cheap live check both start here). */
  readonly pageRequests: number;
  readonly apiLiveRequests: number;
  readonly roomInfoRequests: number;
  /** Signing-service room id lookups (the library's last resort). */
  readonly signRoomIdRequests: number;
  /** Signing-service `/webcast/rooms/{id}/connect`: the budget users get rate-limited on. */
  readonly signConnectRequests: number;
  /** `GET /accounts/me/rate_limits` asked. */
  readonly rateLimitRequests: number;
  /** Signing requests answered 429 (advertised limits exceeded, or rateLimitSign). */
  readonly signRateLimited: number;
  /** Push sockets accepted, ever. */
  readonly pushConnections: number;
  readonly heartbeats: number;
  readonly acks: number;
  readonly enterRooms: number;
  /** Push sockets currently open for this user's room. */
  openSockets(username: string): number;
  /**
   * Requests that carried a `sessionid` cookie, by where they went: TikTok's page, web API, room info and
   * push socket (the Cookie header), and signed connects that forwarded it to the signing service
   * (`x-cookie-header`, sent by the library only with `authenticateWs`).
   */
  readonly withSession: { readonly page: number; readonly api: number; readonly roomInfo: number; readonly signConnect: number; readonly push: number };
}

export interface FakeTikTok {
  /** Points every host at this fake; spread it to change timeouts: `{ ...fake.transport, requestTimeoutMs: 300 }`. */
  readonly transport: TikTokTransport;
  /** https://127.0.0.1:port */
  readonly url: string;
  readonly stats: FakeTikTokStats;
  /** Every signing-service request, oldest first. */
  readonly signRequests: readonly FakeSignRequest[];
  /** Users are unknown (TikTok says user_not_found) until added. Offline users have no room until they go live. */
  addUser(username: string, options?: { live?: boolean }): void;
  /** Going live opens a new room (new room id); going offline only flips the status, sending nothing. */
  setLive(username: string, isLive: boolean): void;
  /** Pushes one chat frame to every open push socket of the user's room. Returns its msgId. */
  sendChat(username: string, chat: FakeChat): string;
  /** Pushes several chats in ONE frame, as TikTok batches busy chats. Returns their msgIds. */
  sendChats(username: string, chats: readonly FakeChat[]): string[];
  /** Pushes a non-chat frame (WebcastRoomUserSeqMessage, the viewer count). */
  sendViewerCount(username: string, viewers: number): void;
  /** Pushes one WebcastGiftMessage frame (a gift, or one message of a streak). Returns its msgId. */
  sendGift(username: string, gift: FakeGift): string;
  /** Adds a chat to the initial data of every later signed connect (TikTok's recent history). */
  queueInitialChat(username: string, chat: FakeChat): string;
  /** Destroys the user's push sockets without a close frame, like a network drop (client sees 1006). */
  dropConnections(username: string): void;
  /** Sends TikTok's stream-end control message (ControlAction STREAM_ENDED) and marks the user offline. */
  endStream(username: string): void;
  /** While on: pushes nothing and ignores heartbeats for the user's room; sockets stay open. */
  silence(username: string, on: boolean): void;
  /**
   * While on, the room is a "zombie" as TikTok's sometimes are (connector issues 173, 280): the socket stays
   * open and every heartbeat and room-enter is answered, but the room pushes nothing at all (chats, gifts,
   * viewer counts sent meanwhile are lost).
   */
  zombie(username: string, on: boolean): void;
  /**
   * Room traffic as a real live sends it without anybody chatting: a viewer-count message
   * (WebcastRoomUserSeqMessage) every `everyMs`. `false` stops it.
   */
  flow(username: string, traffic: { readonly everyMs: number; readonly viewers: number } | false): void;
  /** The next `times` signing requests answer 429 with `retry-after: retryAfterSeconds`. */
  rateLimitSign(times: number, retryAfterSeconds: number): void;
  /**
   * What `/accounts/me/rate_limits` advertises and the signing routes enforce from now on, uses so far
   * forgotten (a new key). Each window slides: a use counts for one window length after it was made.
   * Windows left out are unlimited. Default: generous (1,000 a minute, 20,000 an hour, 200,000 a day),
   * so tests that do not care never see a 429 from it.
   */
  advertiseLimits(limits: FakeSignLimits): void;
  /**
   * A restricted (18+ or region-locked) LIVE: the page and web API show it live, but room info answers
   * status_code 4003110 without its stream data unless the request carries the fake's login (see
   * `acceptLogin`). With `socketNeedsLogin` the push socket also refuses an upgrade without it (TikTok does
   * for some such rooms: the library sends the session there only with `authenticateWs`).
   */
  restrict(username: string, options: { readonly socketNeedsLogin?: boolean } | false): void;
  /** The logged-in web session TikTok knows now (`sessionid` + `tt-target-idc` cookies); undefined: none (expired). */
  acceptLogin(login: FakeLogin | undefined): void;
  /**
   * Until cleared with `false`, a live-check route answers as TikTok does when it blocks or stumbles
   * (for `users` only, when given; `false` clears them): `captcha` a 200 HTML captcha page, `waf` a 403 HTML block page, a
   * status code with an HTML error page, `hang` no answer, `no-live-state` a page/answer without the live
   * status, `lie` "not live" (status 4) while the room is live.
   */
  failChecks(route: FakeCheckRoute, fault: FakeCheckFault | false, options?: { readonly users?: readonly string[] }): void;
  /** While set, `/accounts/me/rate_limits` answers 500 (`'error'`) or never answers (`'hang'`). */
  limitsUnreachable(mode: 'error' | 'hang' | false): void;
  /** While on, signing requests are held open and never answered. */
  hangSign(on: boolean): void;
  /** While on, TikTok's own web page, web API and webcast API requests are never answered. */
  hangWeb(on: boolean): void;
  /** While on, push socket upgrades are refused (HTTP 403 with a `handshake-msg`). */
  refusePush(on: boolean): void;
  /** While on, push socket upgrades are never answered (the TLS connection stays open). */
  hangPush(on: boolean): void;
  /**
   * The LIVE's own video as room info lists it (stream capture): every quality's FLV URL comes from `video.url()`
   * at each room-info request, so a URL expired by the video server is replaced by asking again. Unset: no video.
   */
  setVideo(username: string, video: FakeRoomVideo | undefined): void;
  close(): Promise<void>;
}

/** The live-check routes of TikTok the bot reads: the LIVE page, the web API and webcast room info. */
export type FakeCheckRoute = 'page' | 'api' | 'roomInfo';
export type FakeCheckFault = 'captcha' | 'waf' | 'hang' | 'no-live-state' | 'lie' | 403 | 429 | 500 | 502 | 503;

/** A logged-in TikTok web session as its cookies carry it. */
export interface FakeLogin {
  readonly sessionId: string;
  readonly ttTargetIdc: string;
}

/** Signing-service limits in connects per window. */
export interface FakeSignLimits {
  readonly minute?: number;
  readonly hour?: number;
  readonly day?: number;
}

/** Where a fake LIVE's video is (tests/fakes/flv-server.ts) and what codec room info says it is. */
export interface FakeRoomVideo {
  readonly url: () => string;
  readonly codec: 'h264' | 'hevc';
}

interface FakeUser {
  readonly username: string;
  readonly userId: string;
  live: boolean;
  roomId: string;
  silenced: boolean;
  zombie: boolean;
  restricted: boolean;
  sessionOnlySocket: boolean;
  flow?: NodeJS.Timeout | undefined;
  video?: FakeRoomVideo | undefined;
  readonly initialChats: BaseProtoMessage[];
  readonly sockets: Set<WebSocket>;
}

export async function startFakeTikTok(): Promise<FakeTikTok> {
  const { cert, key } = await makeSelfSignedCertificate();
  const users = new Map<string, FakeUser>();
  const signRequests: FakeSignRequest[] = [];
  const hungResponses = new Set<ServerResponse>();
  const counters = {
    pageRequests: 0,
    apiLiveRequests: 0,
    roomInfoRequests: 0,
    signRoomIdRequests: 0,
    signConnectRequests: 0,
    rateLimitRequests: 0,
    signRateLimited: 0,
    pushConnections: 0,
    heartbeats: 0,
    acks: 0,
    enterRooms: 0,
  };
  const withSession = { page: 0, api: 0, roomInfo: 0, signConnect: 0, push: 0 };
  let login: FakeLogin | undefined;
  /** Per route: faults by user ('*': everyone without one of their own). */
  const checkFaults = new Map<FakeCheckRoute, Map<string, FakeCheckFault>>();
  /** The fault a check route answers with for this user now, if any. */
  const faultFor = (route: FakeCheckRoute, user: FakeUser | undefined): FakeCheckFault | undefined => {
    const faults = checkFaults.get(route);
    return (user ? faults?.get(user.username) : undefined) ?? faults?.get('*');
  };
  /** Whether a request carried the fake's valid login: `sessionid` and the right `tt-target-idc`. */
  const isLoggedIn = (cookies: Record<string, string>) =>
    login !== undefined && cookies.sessionid === login.sessionId && cookies['tt-target-idc'] === login.ttTargetIdc;
  let rateLimited = 0;
  /** Per window: its limit and the times (epoch ms) of the uses it still counts, oldest first. */
  const signWindows = new Map<SignWindowLabel, { max: number; uses: number[] }>();
  const advertise = (limits: FakeSignLimits) => {
    signWindows.clear();
    for (const label of SIGN_WINDOW_LABELS) {
      const max = limits[label];
      if (max !== undefined) signWindows.set(label, { max, uses: [] });
    }
  };
  advertise({ minute: 1_000, hour: 20_000, day: 200_000 });
  /** Forgets the uses that have slid out of each window; returns the first window with no slot left, if any. */
  const exceededWindow = (now: number) => {
    for (const [label, window] of signWindows) {
      const horizon = now - SIGN_WINDOW_MS[label];
      let expired = 0;
      while (expired < window.uses.length && window.uses[expired]! <= horizon) expired++;
      if (expired > 0) window.uses.splice(0, expired);
    }
    return [...signWindows].find(([, window]) => window.uses.length >= window.max);
  };
  /** When the window's next slot frees: its oldest counted use leaves (undefined: nothing counted). */
  const nextRelease = (label: SignWindowLabel, window: { uses: number[] }) =>
    window.uses.length === 0 ? undefined : window.uses[0]! + SIGN_WINDOW_MS[label];
  let limitsMode: 'error' | 'hang' | false = false;
  let retryAfterSeconds = 0;
  let isSignHung = false;
  let isWebHung = false;
  let isPushRefused = false;
  let isPushHung = false;
  const hungSockets = new Set<Duplex>();
  const hold = (res: ServerResponse) => {
    hungResponses.add(res);
    res.on('close', () => hungResponses.delete(res));
  };
  let nextId = 1n;
  const newId = (base: bigint) => (base + nextId++).toString();

  const userByRoom = (roomId: string) => [...users.values()].find((u) => u.roomId !== '' && u.roomId === roomId);
  const requireUser = (username: string): FakeUser => {
    const user = users.get(normalize(username));
    if (!user) throw new Error(`fake TikTok: unknown user @${username}; call addUser first`);
    return user;
  };

  const server: Server = createServer({ cert, key });
  const wss = new WebSocketServer({ noServer: true });
  let port = 0;

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://fake.invalid');
    const path = url.pathname;

    const page = /^\/@([^/]+)\/live$/.exec(path);
    const isWeb = page !== null || path === '/api-live/user/room/' || path === '/webcast/room/info/';
    if (isWeb && isWebHung) {
      if (page) counters.pageRequests++;
      return hold(res);
    }
    const cookies = parseCookieHeader(req.headers.cookie);
    const hasSession = cookies.sessionid !== undefined;
    if (page?.[1]) {
      counters.pageRequests++;
      if (hasSession) withSession.page++;
      const user = users.get(normalize(decodeURIComponent(page[1])));
      const fault = faultFor('page', user);
      if (fault === 'hang') return hold(res);
      if (fault !== undefined && fault !== 'lie' && fault !== 'no-live-state') return sendBlock(res, fault);
      const state = !user ? {} : fault === 'no-live-state' ? { LiveRoom: { loadingState: { getRecommendLive: 1 } } } : { LiveRoom: { liveRoomUserInfo: liveRoomUserInfo(user, fault === 'lie') } };
      return send(res, 200, 'text/html; charset=utf-8', sigiPage(state));
    }
    if (path === '/api-live/user/room/') {
      counters.apiLiveRequests++;
      if (hasSession) withSession.api++;
      const user = users.get(normalize(url.searchParams.get('uniqueId') ?? ''));
      const fault = faultFor('api', user);
      if (fault === 'hang') return hold(res);
      if (fault !== undefined && fault !== 'lie' && fault !== 'no-live-state') return sendBlock(res, fault);
      const data = user && fault === 'no-live-state' ? { user: liveRoomUserInfo(user).user } : user ? liveRoomUserInfo(user, fault === 'lie') : undefined;
      return sendJson(res, 200, data ? { statusCode: 0, data } : USER_NOT_FOUND);
    }
    if (path === '/webcast/room/info/') {
      counters.roomInfoRequests++;
      if (hasSession) withSession.roomInfo++;
      const user = userByRoom(url.searchParams.get('room_id') ?? '');
      const fault = faultFor('roomInfo', user);
      if (fault === 'hang') return hold(res);
      if (fault !== undefined && fault !== 'lie' && fault !== 'no-live-state') return sendBlock(res, fault);
      if (user?.restricted && user.live && !isLoggedIn(cookies)) {
        // What TikTok answers for an 18+ or region-locked LIVE without a logged-in session (also an expired
        // one, or one sent with the wrong tt-target-idc: that data centre does not know it).
        return sendJson(res, 200, { status_code: 4003110, data: { message: 'This LIVE is restricted', prompts: 'Log in to watch this LIVE' } });
      }
      const status = !user || fault === 'lie' || !user.live ? 4 : 2;
      const body = fault === 'no-live-state'
        ? { status_code: 0, data: { id_str: user?.roomId ?? '' } }
        : { status_code: 0, data: { id_str: user?.roomId ?? '', status, ...(user && status === 2 ? roomVideo(user) : {}) } };
      return sendJson(res, 200, body);
    }

    if (path === '/accounts/me/rate_limits') {
      counters.rateLimitRequests++;
      if (limitsMode === 'hang') return hold(res);
      if (limitsMode === 'error') return sendJson(res, 500, { code: 500, message: 'rate limits unavailable (fake)' });
      const now = Date.now();
      exceededWindow(now);
      const body: Record<string, unknown> = { code: 200 };
      for (const [label, window] of signWindows) {
        const releaseAt = nextRelease(label, window);
        body[label] = {
          max: window.max,
          remaining: Math.max(0, window.max - window.uses.length),
          reset_at: releaseAt === undefined ? null : new Date(releaseAt).toISOString(),
        };
      }
      return sendJson(res, 200, body);
    }

    const anchor = /^\/webcast\/anchors\/([^/]+)\/room_id$/.exec(path);
    const connect = /^\/webcast\/rooms\/([^/]+)\/connect$/.exec(path);
    if (anchor?.[1] || connect?.[1]) {
      if (anchor) counters.signRoomIdRequests++;
      else counters.signConnectRequests++;
      const forwarded = req.headers['x-cookie-header'];
      if (connect && typeof forwarded === 'string' && parseCookieHeader(forwarded).sessionid !== undefined) withSession.signConnect++;
      const apiKeyHeader = req.headers['x-api-key'];
      signRequests.push({
        path,
        apiKeyHeader: typeof apiKeyHeader === 'string' ? apiKeyHeader : undefined,
        hasApiKeyInQuery: url.searchParams.has('apiKey'),
      });
      if (isSignHung) return hold(res);
      if (rateLimited > 0) {
        rateLimited--;
        counters.signRateLimited++;
        res.setHeader('retry-after', String(retryAfterSeconds));
        return sendJson(res, 429, { message: 'Too many connections (fake)', limit_label: 'minute' });
      }
      // Room-id lookups and connects both count against the key's limits, as on the real service.
      const now = Date.now();
      const exceeded = exceededWindow(now);
      if (exceeded) {
        const [label, window] = exceeded;
        // A sliding window frees one slot when its oldest use leaves: that is when a retry can pass.
        const resetAt = nextRelease(label, window) ?? now;
        counters.signRateLimited++;
        res.setHeader('retry-after', String(Math.max(1, Math.ceil((resetAt - now) / 1000))));
        res.setHeader('x-ratelimit-limit', String(window.max));
        res.setHeader('x-ratelimit-remaining', '0');
        res.setHeader('x-ratelimit-reset', String(Math.ceil(resetAt / 1000)));
        return sendJson(res, 429, { message: `Too many connections this ${label} (fake)`, limit_label: label });
      }
      for (const window of signWindows.values()) window.uses.push(now);
      if (anchor?.[1]) {
        const user = users.get(normalize(decodeURIComponent(anchor[1])));
        return user
          ? sendJson(res, 200, { code: 200, ok: true, message: '', room_id: user.roomId, is_live: user.live })
          : sendJson(res, 404, { code: 404, ok: false, message: 'User not found' });
      }
      const roomId = decodeURIComponent(connect?.[1] ?? '');
      const user = userByRoom(roomId);
      if (!user) return sendJson(res, 404, { code: 404, message: 'Room not found' });
      const result: ProtoMessageFetchResult = {
        ...ProtoMessageFetchResult.decode(EMPTY),
        messages: user.initialChats,
        cursor: `${Date.now()}_initial`,
        fetchInterval: '1000',
        now: String(Date.now()),
        internalExt: `internal_src:fake|room:${roomId}`,
        fetchType: 1,
        heartbeatDuration: '10000',
        needAck: false,
        pushServer: `wss://127.0.0.1:${port}${PUSH_PATH}`,
        isFirst: true,
      };
      res.setHeader('x-set-tt-cookie', 'ttwid=fake-ttwid; Path=/');
      res.setHeader('x-room-id', roomId);
      res.setHeader('x-request-id', `fake-${counters.signConnectRequests}`);
      return send(res, 200, 'application/protobuf', Buffer.from(ProtoMessageFetchResult.encode(result).finish()));
    }
    return sendJson(res, 404, { message: `fake TikTok has no ${path}` });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'https://fake.invalid');
    const user = url.pathname === PUSH_PATH ? userByRoom(url.searchParams.get('room_id') ?? '') : undefined;
    if (isPushHung) {
      hungSockets.add(socket);
      socket.on('close', () => hungSockets.delete(socket));
      socket.on('error', () => undefined);
      return;
    }
    if (isPushRefused) {
      socket.end('HTTP/1.1 403 Forbidden\r\nhandshake-msg: push refused by fake\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!user?.live) {
      // The library reads the `handshake-msg` header of a refused upgrade.
      socket.end('HTTP/1.1 404 Not Found\r\nhandshake-msg: room is not live\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const pushCookies = parseCookieHeader(req.headers.cookie);
    if (pushCookies.sessionid !== undefined) withSession.push++;
    if (user.restricted && user.sessionOnlySocket && !isLoggedIn(pushCookies)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nhandshake-msg: login required for this LIVE\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      counters.pushConnections++;
      user.sockets.add(ws);
      ws.on('close', () => user.sockets.delete(ws));
      ws.on('error', () => undefined);
      ws.on('message', (data: RawData) => onClientFrame(user, ws, data));
    });
  });

  const onClientFrame = (user: FakeUser, ws: WebSocket, data: RawData) => {
    const frame = WebcastPushFrame.decode(toBuffer(data));
    switch (frame.payloadType) {
      case 'hb':
        counters.heartbeats++;
        if (!user.silenced) ws.send(encodeFrame({ payloadType: 'hb', payload: Buffer.alloc(0) }));
        return;
      case 'im_enter_room':
        counters.enterRooms++;
        if (!user.silenced) ws.send(encodeFrame({ payloadType: 'im_enter_room_resp', payload: Buffer.alloc(0) }));
        return;
      case 'ack':
        counters.acks++;
        return;
      default:
        return;
    }
  };

  const push = (user: FakeUser, messages: BaseProtoMessage[]) => {
    if (user.silenced || user.zombie) return;
    const result: ProtoMessageFetchResult = {
      ...ProtoMessageFetchResult.decode(EMPTY),
      messages,
      cursor: `${Date.now()}_push`,
      now: String(Date.now()),
      internalExt: `internal_src:fake|room:${user.roomId}`,
      needAck: true,
    };
    const frame = encodeFrame({
      logId: newId(9_000_000_000_000_000n),
      payloadType: 'msg',
      payload: gzipSync(ProtoMessageFetchResult.encode(result).finish()),
    });
    for (const ws of user.sockets) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
  };

  const sendViewers = (user: FakeUser, viewers: number) => {
    const msgId = newId(7_500_000_000_000_000_000n);
    const payload = WebcastRoomUserSeqMessage.encode({
      ...WebcastRoomUserSeqMessage.decode(EMPTY),
      common: common('WebcastRoomUserSeqMessage', msgId, user.roomId),
      total: String(viewers),
    }).finish();
    push(user, [baseMessage('WebcastRoomUserSeqMessage', msgId, payload)]);
  };

  const chatMessage = (user: FakeUser, chat: FakeChat): BaseProtoMessage => {
    const msgId = chat.msgId ?? newId(7_400_000_000_000_000_000n);
    const payload = WebcastChatMessage.encode({
      ...WebcastChatMessage.decode(EMPTY),
      common: common('WebcastChatMessage', msgId, user.roomId),
      user: {
        ...User.decode(EMPTY),
        id: newId(6_800_000_000_000_000_000n),
        nickname: chat.nickname ?? chat.handle,
        displayId: chat.handle,
      },
      content: chat.text,
    }).finish();
    return baseMessage('WebcastChatMessage', msgId, payload);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;

  const stats: FakeTikTokStats = Object.defineProperties(
    { openSockets: (username: string) => countOpen(users.get(normalize(username))), withSession },
    Object.fromEntries(
      Object.keys(counters).map((name) => [name, { get: () => counters[name as keyof typeof counters], enumerable: true }]),
    ),
  ) as FakeTikTokStats;

  const setLive = (username: string, isLive: boolean) => {
    const user = requireUser(username);
    if (isLive && !user.live) user.roomId = newId(7_300_000_000_000_000_000n);
    user.live = isLive;
  };

  return {
    transport: Object.freeze({
      signApiKey: 'fake-sign-key',
      signApiUrl: `https://${host}`,
      webHost: host,
      webcastHost: host,
      caCertificate: cert,
      requestTimeoutMs: 2_000,
      operationTimeoutMs: 10_000,
    }),
    url: `https://${host}`,
    stats,
    signRequests,
    addUser(username, options = {}) {
      const name = normalize(username);
      if (users.has(name)) throw new Error(`fake TikTok: @${name} already exists`);
      const user: FakeUser = {
        username: name,
        userId: newId(6_900_000_000_000_000_000n),
        live: false,
        roomId: '',
        silenced: false,
        zombie: false,
        restricted: false,
        sessionOnlySocket: false,
        initialChats: [],
        sockets: new Set(),
      };
      users.set(name, user);
      if (options.live) setLive(name, true);
    },
    setLive,
    setVideo(username, video) {
      requireUser(username).video = video;
    },
    sendChat(username, chat) {
      const user = requireUser(username);
      const message = chatMessage(user, chat);
      push(user, [message]);
      return message.msgId;
    },
    sendChats(username, chats) {
      const user = requireUser(username);
      const messages = chats.map((chat) => chatMessage(user, chat));
      push(user, messages);
      return messages.map((m) => m.msgId);
    },
    sendGift(username, gift) {
      const user = requireUser(username);
      const msgId = newId(7_600_000_000_000_000_000n);
      const isStreakable = gift.isStreakable ?? false;
      const payload = WebcastGiftMessage.encode({
        ...WebcastGiftMessage.decode(EMPTY),
        common: common('WebcastGiftMessage', msgId, user.roomId),
        giftId: '5655',
        repeatCount: gift.repeatCount ?? 1,
        comboCount: gift.repeatCount ?? 1,
        repeatEnd: gift.isStreakEnd === false ? 0 : 1,
        groupId: gift.groupId ?? newId(1_000_000_000_000n),
        user: { ...User.decode(EMPTY), id: newId(6_800_000_000_000_000_000n), nickname: gift.handle, displayId: gift.handle },
        gift: {
          ...Gift.decode(EMPTY),
          id: '5655',
          name: gift.giftName,
          diamondCount: gift.diamondCount,
          type: isStreakable ? 1 : 2,
          combo: isStreakable,
        },
      }).finish();
      push(user, [baseMessage('WebcastGiftMessage', msgId, payload)]);
      return msgId;
    },
    sendViewerCount(username, viewers) {
      sendViewers(requireUser(username), viewers);
    },
    zombie(username, on) {
      requireUser(username).zombie = on;
    },
    flow(username, traffic) {
      const user = requireUser(username);
      clearInterval(user.flow);
      user.flow = traffic ? setInterval(() => sendViewers(user, traffic.viewers), traffic.everyMs) : undefined;
    },
    queueInitialChat(username, chat) {
      const user = requireUser(username);
      const message = chatMessage(user, chat);
      user.initialChats.push(message);
      return message.msgId;
    },
    dropConnections(username) {
      for (const ws of requireUser(username).sockets) ws.terminate();
    },
    endStream(username) {
      const user = requireUser(username);
      const msgId = newId(7_600_000_000_000_000_000n);
      const payload = WebcastControlMessage.encode({
        ...WebcastControlMessage.decode(EMPTY),
        common: common('WebcastControlMessage', msgId, user.roomId),
        action: ControlAction.CONTROL_ACTION_STREAM_ENDED,
      }).finish();
      push(user, [baseMessage('WebcastControlMessage', msgId, payload)]);
      user.live = false;
    },
    silence(username, on) {
      requireUser(username).silenced = on;
    },
    rateLimitSign(times, seconds) {
      rateLimited = times;
      retryAfterSeconds = seconds;
    },
    advertiseLimits: advertise,
    restrict(username, options) {
      const user = requireUser(username);
      user.restricted = options !== false;
      user.sessionOnlySocket = options !== false && options.socketNeedsLogin === true;
    },
    acceptLogin(value) {
      login = value;
    },
    failChecks(route, fault, options = {}) {
      const faults = checkFaults.get(route) ?? new Map<string, FakeCheckFault>();
      checkFaults.set(route, faults);
      for (const name of options.users?.map(normalize) ?? ['*']) {
        if (fault === false) faults.delete(name);
        else faults.set(name, fault);
      }
    },
    limitsUnreachable(mode) {
      limitsMode = mode;
      if (mode !== 'hang') for (const res of hungResponses) res.destroy();
    },
    hangSign(on) {
      isSignHung = on;
      if (!on) for (const res of hungResponses) res.destroy();
    },
    hangWeb(on) {
      isWebHung = on;
      if (!on) for (const res of hungResponses) res.destroy();
    },
    refusePush(on) {
      isPushRefused = on;
    },
    hangPush(on) {
      isPushHung = on;
      if (!on) for (const socket of hungSockets) socket.destroy();
    },
    async close() {
      for (const user of users.values()) clearInterval(user.flow);
      for (const res of hungResponses) res.destroy();
      for (const socket of hungSockets) socket.destroy();
      for (const user of users.values()) for (const ws of user.sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

const SIGN_WINDOW_LABELS = ['minute', 'hour', 'day'] as const;
type SignWindowLabel = (typeof SIGN_WINDOW_LABELS)[number];
const SIGN_WINDOW_MS: Record<SignWindowLabel, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

function normalize(username: string): string {
  return username.trim().replace(/^@/, '').toLowerCase();
}

function countOpen(user: FakeUser | undefined): number {
  if (!user) return 0;
  return [...user.sockets].filter((ws) => ws.readyState === WebSocket.OPEN).length;
}

/** Quality name -> [sdk key, level, resolution] as TikTok's room info lists them. */
const VIDEO_QUALITIES = [
  ['FULL_HD1', 'origin', 4, '1920x1080'],
  ['HD1', 'hd', 3, '1280x720'],
  ['SD1', 'ld', 2, '854x480'],
  ['SD2', 'sd', 1, '640x360'],
] as const;

/**
 * `stream_url` the way TikTok's room info carries it (see notes/tiktok.md): `flv_pull_url` by quality, and
 * `live_core_sdk_data.pull_data` with the qualities and a JSON string of stream data whose `sdk_params` is
 * itself a JSON string. Only for a live user with a video.
 */
function roomVideo(user: FakeUser): { stream_url?: unknown } {
  if (!user.live || !user.video) return {};
  const video = user.video;
  const urls = Object.fromEntries(VIDEO_QUALITIES.map(([name]) => [name, video.url()]));
  const streamData = Object.fromEntries(
    VIDEO_QUALITIES.map(([name, sdkKey, , resolution]) => [
      sdkKey,
      {
        main: {
          flv: urls[name],
          hls: '',
          sdk_params: JSON.stringify({ VCodec: video.codec === 'hevc' ? 'h265' : 'h264', resolution, vbitrate: 1_000_000, gop: 1 }),
        },
      },
    ]),
  );
  return {
    stream_url: {
      flv_pull_url: urls,
      hls_pull_url: '',
      live_core_sdk_data: {
        pull_data: {
          options: { qualities: VIDEO_QUALITIES.map(([name, sdkKey, level]) => ({ name, sdk_key: sdkKey, level })) },
          stream_data: JSON.stringify({ common: {}, data: streamData }),
        },
      },
    },
  };
}

/** `lie`: "not live" while live, as TikTok's page and API sometimes say (stale caches: connector issues 323, 244). */
function liveRoomUserInfo(user: FakeUser, lie = false) {
  return {
    user: { id: user.userId, uniqueId: user.username, nickname: user.username, roomId: user.roomId },
    liveRoom: { status: user.live && !lie ? 2 : 4 },
  };
}

/** TikTok's answers when it will not tell: a captcha page (200), a WAF block page (403), an error status. */
function sendBlock(res: ServerResponse, fault: 'captcha' | 'waf' | 403 | 429 | 500 | 502 | 503): void {
  if (fault === 'captcha') {
    return send(res, 200, 'text/html; charset=utf-8', '<!DOCTYPE html><html><head><title>Security Check</title></head><body><div id="captcha-verify-container"><p>Drag the slider to fit the puzzle</p></div><script src="https://sf-security.ibytedtos.com/obj/rc-verifycenter/sec_sdk_build/captcha.js"></script></body></html>');
  }
  if (fault === 'waf') {
    return send(res, 403, 'text/html; charset=utf-8', '<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1><p>You don\'t have permission to access this page. Reference #18.7f3c1402.1765000000.2a1b3c4d</p></body></html>');
  }
  if (fault === 429) res.setHeader('retry-after', '60');
  return send(res, fault, 'text/html; charset=utf-8', `<html><body><h1>${fault}</h1></body></html>`);
}

function parseCookieHeader(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = decodeURIComponent(part.slice(0, eq).trim());
    cookies[name] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return cookies;
}

function sigiPage(state: object): string {
  return `<!DOCTYPE html><html><head><title>TikTok LIVE</title></head><body><script id="SIGI_STATE" type="application/json">${JSON.stringify(state)}</script></body></html>`;
}

function common(method: string, msgId: string, roomId: string): CommonMessageData {
  return {
    ...CommonMessageData.decode(EMPTY),
    method,
    msgId,
    roomId,
    createTime: String(Date.now()),
  };
}

function baseMessage(method: string, msgId: string, payload: Uint8Array): BaseProtoMessage {
  return { ...BaseProtoMessage.decode(EMPTY), method, msgId, payload: Buffer.from(payload) };
}

function encodeFrame(fields: Partial<WebcastPushFrame>): Buffer {
  const frame: WebcastPushFrame = {
    ...WebcastPushFrame.decode(EMPTY),
    seqId: '0',
    logId: '0',
    service: '0',
    method: '0',
    payloadEncoding: 'pb',
    ...fields,
  };
  return Buffer.from(WebcastPushFrame.encode(frame).finish());
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

/** A two-day EC certificate for 127.0.0.1, made fresh for each fake and deleted from disk at once. */
async function makeSelfSignedCertificate(): Promise<{ cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-tiktok-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    await execFileAsync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
