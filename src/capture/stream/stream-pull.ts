/**
 * Opens a LIVE's video URL the way TikTok's CDN expects (browser headers, redirects followed), through the
 * TikTok proxy when one is set. The bot reads the video itself rather than letting ffmpeg fetch it, so it
 * can see the FLV's mid-live switches (flv-shapes.ts), and so a socks5 proxy works too: ffmpeg's own
 * `-http_proxy` speaks only to http proxies.
 */
import { get as httpGet, type Agent, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';

export interface PullOptions {
  readonly headers: Readonly<Record<string, string>>;
  /** Proxy agent (TIKTOK_PROXY_URL), or undefined to connect directly. */
  readonly agent?: Agent | undefined;
  readonly signal: AbortSignal;
  /** No byte for this long: the pull is stuck; the response is destroyed with an error saying so. */
  readonly idleMs: number;
}

const MAX_REDIRECTS = 5;

/** The open response (status 2xx), or a rejection saying why not (`HTTP 403`, network, timeout). */
export async function openVideoStream(url: string, options: PullOptions, redirects = 0): Promise<IncomingMessage> {
  const res = await request(url, options);
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location && redirects < MAX_REDIRECTS) {
    res.resume();
    return openVideoStream(new URL(res.headers.location, url).toString(), options, redirects + 1);
  }
  if (status < 200 || status >= 300) {
    res.resume();
    throw new Error(`the video URL answered HTTP ${status}`);
  }
  return res;
}

function request(url: string, options: PullOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { headers: options.headers, signal: options.signal, ...(options.agent ? { agent: options.agent } : {}) }, resolve);
    req.setTimeout(options.idleMs, () => {
      req.destroy(new Error(`no video for ${Math.round(options.idleMs / 1000)} s`));
    });
    req.once('error', reject);
  });
}
