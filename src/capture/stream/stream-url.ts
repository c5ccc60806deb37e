/**
 * Picks the video URL to buffer from TikTok's room info (`data` of /webcast/room/info/, see
 * notes/tiktok.md "The LIVE's own video"). Pure: no I/O, so it is tested on plain objects.
 *
 * Preference: h264 (Discord plays it; HEVC would need a re-encode per clip) at 720p or below (web pulls are
 * capped around there and a smaller picture costs less disk), the largest such; then any h264; then HEVC.
 */
import { AppError } from '../../util/errors.js';

export type VideoCodec = 'h264' | 'hevc' | 'unknown';

export interface StreamSource {
  readonly url: string;
  readonly codec: VideoCodec;
  /** TikTok's quality name (FULL_HD1, HD1, SD1, SD2) or sdk key. */
  readonly quality: string;
  /** Picture height when room info said; undefined otherwise. */
  readonly height: number | undefined;
  /** What TikTok's CDN expects from a browser: without them some edges answer 403. */
  readonly headers: Readonly<Record<string, string>>;
}

export const STREAM_REQUEST_HEADERS = {
  'User-Agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  Referer: 'https://www.tiktok.com/',
} as const satisfies Record<string, string>;

const PREFERRED_MAX_HEIGHT = 720;
/** flv_pull_url names, best first when nothing says their codec or size. */
const FLV_NAMES_BY_PREFERENCE = ['HD1', 'SD1', 'SD2', 'FULL_HD1'] as const;
const HEIGHT_BY_FLV_NAME: Readonly<Record<string, number>> = { FULL_HD1: 1080, HD1: 720, SD1: 480, SD2: 360 };

interface Candidate {
  readonly url: string;
  readonly codec: VideoCodec;
  readonly quality: string;
  readonly height: number | undefined;
}

/**
 * The source to buffer, or an AppError('STREAM_NO_VIDEO') saying why there is none (offline, restricted,
 * no FLV listed).
 */
export function pickStreamSource(roomInfo: unknown, streamer: string): StreamSource {
  const data = field(roomInfo, 'data') ?? roomInfo;
  const described = fromSdkData(data);
  // flv_pull_url repeats the sdk data's URLs without saying their codec: only URLs found nowhere else count.
  const known = new Set(described.map((c) => c.url));
  const candidates = [...described, ...fromFlvPullUrls(data).filter((c) => !known.has(c.url))].filter((c) => isHttpUrl(c.url));
  const best = [...candidates].sort(compareCandidates)[0];
  if (!best) {
    const status = field(roomInfo, 'status_code');
    const why = status === 4003110 ? 'the LIVE is restricted (18+ or region) and needs a logged-in session' : 'room info lists no FLV video';
    throw new AppError('STREAM_NO_VIDEO', `No video to buffer for @${streamer}: ${why}.`);
  }
  return { ...best, headers: STREAM_REQUEST_HEADERS };
}

function compareCandidates(a: Candidate, b: Candidate): number {
  return rank(a) - rank(b) || (b.height ?? 0) - (a.height ?? 0) || orderOf(a) - orderOf(b);
}

/** Lower is better: h264 within 720p, h264 larger, unknown codec, HEVC within 720p, HEVC larger. */
function rank(c: Candidate): number {
  const fits = c.height === undefined || c.height <= PREFERRED_MAX_HEIGHT;
  const codecRank = c.codec === 'h264' ? 0 : c.codec === 'unknown' ? 2 : 4;
  // Within a rank the larger picture wins (tie-break in compareCandidates); fitting and too large are
  // separate ranks so 1080p never beats 720p.
  return codecRank + (fits ? 0 : 1);
}

function orderOf(c: Candidate): number {
  const i = (FLV_NAMES_BY_PREFERENCE as readonly string[]).indexOf(c.quality);
  return i === -1 ? FLV_NAMES_BY_PREFERENCE.length : i;
}

/** `live_core_sdk_data.pull_data`: qualities plus stream_data (JSON) whose sdk_params (JSON) say the codec. */
function fromSdkData(data: unknown): Candidate[] {
  const pull = field(field(field(data, 'stream_url'), 'live_core_sdk_data'), 'pull_data');
  const streamData = parseJson(field(pull, 'stream_data'));
  const byKey = field(streamData, 'data');
  if (!isRecord(byKey)) return [];
  const qualities = field(field(pull, 'options'), 'qualities');
  const nameByKey = new Map<string, string>();
  if (Array.isArray(qualities)) {
    for (const q of qualities) {
      const key = field(q, 'sdk_key');
      const name = field(q, 'name');
      if (typeof key === 'string' && typeof name === 'string') nameByKey.set(key, name);
    }
  }
  const out: Candidate[] = [];
  for (const [key, entry] of Object.entries(byKey)) {
    if (key === 'ao') continue; // audio only
    const main = field(entry, 'main');
    const url = field(main, 'flv');
    if (typeof url !== 'string') continue;
    const params = parseJson(field(main, 'sdk_params'));
    out.push({
      url,
      codec: codecOf(field(params, 'VCodec')),
      quality: nameByKey.get(key) ?? key,
      height: heightOf(field(params, 'resolution')) ?? HEIGHT_BY_FLV_NAME[nameByKey.get(key) ?? ''],
    });
  }
  return out;
}

/** `stream_url.flv_pull_url`: names only, codec unknown. */
function fromFlvPullUrls(data: unknown): Candidate[] {
  const urls = field(field(data, 'stream_url'), 'flv_pull_url');
  if (!isRecord(urls)) return [];
  return Object.entries(urls).flatMap(([quality, url]) =>
    typeof url === 'string' ? [{ url, codec: 'unknown' as const, quality, height: HEIGHT_BY_FLV_NAME[quality] }] : [],
  );
}

function codecOf(value: unknown): VideoCodec {
  if (typeof value !== 'string') return 'unknown';
  const v = value.toLowerCase();
  if (v === 'h264' || v === 'avc') return 'h264';
  if (v === 'h265' || v === 'hevc' || v === 'bytevc1') return 'hevc';
  return 'unknown';
}

/** "1280x720" -> 720 (the smaller side, so portrait lives count as 720p too). */
function heightOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+)x(\d+)$/.exec(value);
  return m ? Math.min(Number(m[1]), Number(m[2])) : undefined;
}

function isHttpUrl(value: string): boolean {
  return /^https?:\/\//.test(value);
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}
