/**
 * Whether a TikTok user is live, asked the way a browser would and read with suspicion.
 *
 * tiktok-live-connector's own `fetchIsLive()` takes the first route that answers at all (web page, then
 * web API, then the signing service's room-id lookup) and believes it. Users of many lives meet a TikTok
 * that lies and blocks (connector issues 323, 244; recorder issues 345, 424): the page says "not live"
 * while the room runs, a captcha or WAF page comes back with 200 or 403, 429s and 5xx under frequent
 * polling, answers that never come. So the bot asks the routes itself, through the library's own HTTP
 * client (its cookies, headers, device parameters), and decides:
 *
 * - the page says live: live (then room info for that room tells whether it is restricted, or over);
 * - the page says "not live" or cannot tell: the web API is asked; live there is live;
 * - one route says "not live" and the other cannot tell: room info for the room id we saw is the last
 *   word (a LIVE that room info says is live is joined), else "not live";
 * - no route can tell (captcha, block page, 403, 429, 5xx, timeout, no live state): `unclear`, which the
 *   supervisor retries with backoff and never takes for the LIVE ending;
 * - only the web API's `user_not_found` (19881007) makes an unknown user.
 *
 * The signing service's room-id lookup is not asked here: under a block it would turn every poll of every
 * stream into a signing request, spending the budget connects need.
 */
import type { TikTokLiveConnection } from 'tiktok-live-connector';

type Library = typeof import('tiktok-live-connector');

export type LiveCheck =
  | { readonly kind: 'live'; readonly roomId: string }
  | { readonly kind: 'offline' }
  | { readonly kind: 'not-found' }
  /** Room info refused the room (status_code 4003110): 18+ or region, needs a logged-in session. */
  | { readonly kind: 'restricted' }
  | { readonly kind: 'unclear'; readonly why: string };

type RouteAnswer =
  | { readonly kind: 'live' | 'offline'; readonly roomId: string }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'unclear'; readonly why: string };

/** TikTok's web API code for a handle that does not exist. */
const USER_NOT_FOUND = 19881007;
/** Room info's status_code for a LIVE that needs a logged-in session (18+, region). */
export const RESTRICTED_STATUS = 4003110;

export async function checkLive(lib: Library, library: TikTokLiveConnection, username: string, requestTimeoutMs: number): Promise<LiveCheck> {
  const page = await askPage(lib, library, username, requestTimeoutMs);
  if (page.kind === 'live') return confirmRoom(library, page.roomId, requestTimeoutMs);
  const api = await askApi(library, username, requestTimeoutMs);
  if (api.kind === 'live') return confirmRoom(library, api.roomId, requestTimeoutMs);
  if (api.kind === 'not-found') return page.kind === 'offline' ? { kind: 'offline' } : { kind: 'not-found' };
  if (page.kind === 'offline' && api.kind === 'offline') return { kind: 'offline' };
  if (page.kind === 'offline' || api.kind === 'offline') {
    const roomId = (page.kind === 'offline' ? page.roomId : '') || (api.kind === 'offline' ? api.roomId : '');
    if (roomId === '') return { kind: 'offline' };
    const room = roomAnswer(await askRoomInfo(library, roomId, requestTimeoutMs));
    if (room.kind === 'live') return { kind: 'live', roomId };
    if (room.kind === 'restricted') return { kind: 'restricted' };
    return { kind: 'offline' };
  }
  return { kind: 'unclear', why: `the LIVE page gave ${describe(page)}; the web API gave ${describe(api)}` };
}

/** A route said live: room info for that room says whether we may watch it, and catches a page that ran late. */
async function confirmRoom(library: TikTokLiveConnection, roomId: string, requestTimeoutMs: number): Promise<LiveCheck> {
  const room = roomAnswer(await askRoomInfo(library, roomId, requestTimeoutMs));
  if (room.kind === 'restricted') return { kind: 'restricted' };
  // Room info says that room ended: the route that said live was behind. Unclear room info: trust the route.
  if (room.kind === 'offline') return { kind: 'offline' };
  return { kind: 'live', roomId };
}

/** What room info's raw answer (`{ status_code, data }`) says. Also used on connect. */
export function roomAnswer(body: unknown): { readonly kind: 'live' | 'offline' | 'restricted' } | { readonly kind: 'unclear'; readonly why: string } {
  if (body instanceof RouteFailure) return { kind: 'unclear', why: body.message };
  const record = body as { status_code?: unknown; data?: { status?: unknown } } | null | undefined;
  const code = record?.status_code;
  if (code === RESTRICTED_STATUS) return { kind: 'restricted' };
  if (code !== 0) return { kind: 'unclear', why: `room info answered status_code ${String(code)}` };
  const status = record?.data?.status;
  if (status === 4) return { kind: 'offline' };
  if (status === 2) return { kind: 'live' };
  return { kind: 'unclear', why: 'room info without the room status' };
}

/** `/@user/live`: the SIGI_STATE JSON embedded in TikTok's page. */
async function askPage(lib: Library, library: TikTokLiveConnection, username: string, requestTimeoutMs: number): Promise<RouteAnswer> {
  let html: string;
  try {
    html = await library.webClient.getHtmlFromTikTokWebsite(`@${username}/live`);
  } catch (err) {
    return { kind: 'unclear', why: failure(err, requestTimeoutMs) };
  }
  const match = lib.RoomInfoFromHtmlRouteConfig.extractionPattern.exec(html);
  if (!match?.[1]) return { kind: 'unclear', why: 'a page without the live state (a captcha or block page?)' };
  let state: unknown;
  try {
    state = JSON.parse(match[1]);
  } catch {
    return { kind: 'unclear', why: 'a page whose live state does not parse (a captcha page?)' };
  }
  const info = (state as { LiveRoom?: { liveRoomUserInfo?: { user?: { roomId?: unknown }; liveRoom?: { status?: unknown } } } })?.LiveRoom?.liveRoomUserInfo;
  return statusAnswer(info?.liveRoom?.status, info?.user?.roomId, 'a page without the live state');
}

/** `/api-live/user/room/`: the same facts as JSON, and the only route that says a user does not exist. */
async function askApi(library: TikTokLiveConnection, username: string, requestTimeoutMs: number): Promise<RouteAnswer> {
  let body: { statusCode?: unknown; data?: { user?: { roomId?: unknown }; liveRoom?: { status?: unknown } } };
  try {
    body = await library.webClient.getJsonObjectFromTikTokApi('api-live/user/room/', { ...library.webClient.clientParams, uniqueId: username, sourceType: '54' });
  } catch (err) {
    return { kind: 'unclear', why: failure(err, requestTimeoutMs) };
  }
  if (body?.statusCode === USER_NOT_FOUND) return { kind: 'not-found' };
  if (body?.statusCode !== 0) return { kind: 'unclear', why: `an answer with statusCode ${String(body?.statusCode)}` };
  return statusAnswer(body.data?.liveRoom?.status, body.data?.user?.roomId, 'an answer without the live state');
}

async function askRoomInfo(library: TikTokLiveConnection, roomId: string, requestTimeoutMs: number): Promise<unknown> {
  try {
    return await library.fetchRoomInfo(roomId);
  } catch (err) {
    return new RouteFailure(failure(err, requestTimeoutMs));
  }
}

class RouteFailure extends Error {}

/** liveRoom.status: 4 ended, anything else (2 live, 1 starting) live, as the library reads it. */
function statusAnswer(status: unknown, roomId: unknown, missing: string): RouteAnswer {
  if (typeof status !== 'number') return { kind: 'unclear', why: missing };
  const room = typeof roomId === 'string' ? roomId : '';
  // "Live" without a room to join cannot be acted on; call it not live.
  if (status === 4 || room === '') return { kind: 'offline', roomId: room };
  return { kind: 'live', roomId: room };
}

function describe(answer: RouteAnswer): string {
  if (answer.kind === 'unclear') return answer.why;
  return answer.kind === 'not-found' ? 'user not found' : answer.kind;
}

/** A failed request in a moderator's words: got's HTTPError, ParseError, TimeoutError, network errors. */
function failure(err: unknown, requestTimeoutMs: number): string {
  const e = err as { name?: unknown; code?: unknown; message?: unknown; response?: { statusCode?: unknown } };
  if (e?.name === 'HTTPError') {
    const status = Number(e.response?.statusCode);
    const hint = status === 403 ? ' (blocked?)' : status === 429 ? ' (too many requests)' : status >= 500 ? ' (a TikTok error)' : '';
    return `HTTP ${status}${hint}`;
  }
  if (e?.name === 'ParseError') return 'an answer that is not JSON (a captcha or block page?)';
  if (e?.name === 'TimeoutError' || e?.code === 'ETIMEDOUT') return `no answer within ${requestTimeoutMs} ms`;
  if (e?.name === 'AbortError' || e?.name === 'CancelError') return 'cancelled';
  return `no answer (${typeof e?.code === 'string' ? e.code : typeof e?.message === 'string' ? e.message : 'network error'})`;
}
