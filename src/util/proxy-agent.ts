/**
 * TIKTOK_PROXY_URL as a Node agent, for every request to TikTok (web page, web API, room info, the push
 * socket, the video pull) and, with TIKTOK_PROXY_SIGNING=true, the signing service. Discord never gets it.
 *
 * - `http://` and `https://` proxies: https-proxy-agent, which opens a CONNECT tunnel for every target
 *   (http targets too), so the proxy sees only host:port and never a request or its cookies.
 * - `socks5://` (and `socks5h://`, names resolved by the proxy) proxies: socks-proxy-agent.
 *
 * The same agent serves http and https targets (both libraries take either), so one agent is handed to
 * got, ws, axios and node:http alike.
 */
import type { Agent, ClientRequest, RequestOptions } from 'node:http';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksProxyAgent } from 'socks-proxy-agent';

export const PROXY_PROTOCOLS = ['http:', 'https:', 'socks5:', 'socks5h:'] as const;

/** Why `url` cannot be a TikTok proxy, or undefined when it can. Never repeats the URL (it may hold a password). */
export function proxyUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be a URL such as http://host:3128 or socks5://user:password@host:1080';
  }
  if (!(PROXY_PROTOCOLS as readonly string[]).includes(parsed.protocol)) return 'must start with http://, https:// or socks5://';
  if (parsed.hostname === '') return 'must name the proxy host';
  return undefined;
}

/** The URL with its password replaced, for a log line or a status answer. */
export function describeProxyUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${parsed.username}${parsed.password ? ':[redacted]' : ''}@` : '';
    return `${parsed.protocol}//${user}${parsed.host}`;
  } catch {
    return '[unparsable proxy URL]';
  }
}

/** The password of a proxy URL, decoded (the logger removes it from every line), or undefined. */
export function proxyPassword(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const { password } = new URL(url);
    return password === '' ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
}

/**
 * The agent for `url`. `ca` (tests against the self-signed fake TikTok only) is trusted for the TLS
 * inside the tunnel: got passes its own CA per request, but ws, axios and node:https through an agent do
 * not, so it is added to every tunnelled TLS connection here.
 */
export function createProxyAgent(url: string, ca?: string | Buffer): Agent {
  const problem = proxyUrlProblem(url);
  if (problem) throw new Error(`TIKTOK_PROXY_URL ${problem}`);
  const isSocks = url.startsWith('socks');
  if (ca === undefined) return isSocks ? new SocksProxyAgent(url) : new HttpsProxyAgent(url);
  // The tunnelled TLS is started without `host` (https-proxy-agent omits it), so an IP target (the local
  // fake) would be checked against no name at all: check it against the target's address.
  const withCa = (opts: RequestOptions & { secureEndpoint?: boolean }) => ({
    ...opts,
    ca,
    checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(opts.host ?? '', cert),
  });
  if (isSocks) {
    return new (class extends SocksProxyAgent {
      override connect(req: ClientRequest, opts: Parameters<SocksProxyAgent['connect']>[1]): ReturnType<SocksProxyAgent['connect']> {
        return super.connect(req, withCa(opts) as typeof opts);
      }
    })(url);
  }
  return new (class extends HttpsProxyAgent<string> {
    override connect(req: ClientRequest, opts: Parameters<HttpsProxyAgent<string>['connect']>[1]): ReturnType<HttpsProxyAgent<string>['connect']> {
      return super.connect(req, withCa(opts) as typeof opts);
    }
  })(url);
}
