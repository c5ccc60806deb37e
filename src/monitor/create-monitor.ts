import type { Logger } from 'pino';
import type { LiveConnectionFactory } from './live-connection.js';
import { StreamMonitor, type MonitorListener } from './stream-monitor.js';
import { createProxyAgent, describeProxyUrl } from '../util/proxy-agent.js';
import { createTikTokConnectionFactory, fetchSignLimits } from './tiktok-live-connection.js';
import { tiktokSession } from './tiktok-session.js';
import type { MonitorBudgets, SupervisorTimings, TikTokTransport } from './types.js';

/** What the monitor reads from the bot's configuration: the TikTok keys of the environment (src/config.ts parses them). */
export interface MonitorConfig {
  readonly tiktokSignApiKey: string | undefined;
  /** TIKTOK_CONNECTS_PER_MINUTE / _PER_HOUR: override the connect budget the signing service reports. */
  readonly tiktokConnectsPerMinute: number | undefined;
  readonly tiktokConnectsPerHour: number | undefined;
  /**
   * TIKTOK_SESSION_ID / TIKTOK_TT_TARGET_IDC: a logged-in TikTok web session (the `sessionid` and
   * `tt-target-idc` cookies) for restricted (18+, region) lives. Secret: environment only, never logged.
   */
  readonly tiktokSessionId: string | undefined;
  readonly tiktokTtTargetIdc: string | undefined;
  /** TIKTOK_AUTHENTICATE_WS: also send that session to the signing service (and TikTok's chat socket). */
  readonly tiktokAuthenticateWs: boolean;
  /** TIKTOK_PROXY_URL: http, https or socks5 proxy for every TikTok request, socket and video pull (never Discord). */
  readonly tiktokProxyUrl: string | undefined;
  /** TIKTOK_PROXY_SIGNING: send the signing service's requests through that proxy too. */
  readonly tiktokProxySigning: boolean;
}

/** Local stand-ins for TikTok (tests, special set-ups). */
export interface MonitorAdapters {
  /** Where and how to reach TikTok (a local server in tests). The sign key always comes from config. */
  readonly tiktokTransport?: Omit<TikTokTransport, 'signApiKey' | 'session' | 'authenticateWs'>;
  readonly connectLive?: LiveConnectionFactory;
}

/** Knobs that make waits short in tests; each falls back to the default a user gets. */
export interface MonitorTuning {
  readonly supervisorTimings?: Partial<SupervisorTimings>;
  /** Fixed connect and live-check budgets instead of the ones sized from the signing service. */
  readonly budgets?: MonitorBudgets;
}

/** The source stage: every watched live through tiktok-live-connector, on the connect budget the signing service allows. */
export function createMonitor(
  config: MonitorConfig,
  {
    adapters = {},
    tuning = {},
    listener,
    connectGate,
    log,
  }: { adapters?: MonitorAdapters; tuning?: MonitorTuning; listener: MonitorListener; connectGate?: ((signal: AbortSignal) => Promise<void>) | undefined; log: Logger },
): StreamMonitor {
  // One proxy agent for all of TikTok (and the signing service only when the user asked for it).
  const proxyAgent = config.tiktokProxyUrl === undefined ? undefined : createProxyAgent(config.tiktokProxyUrl, adapters.tiktokTransport?.caCertificate);
  const transport: TikTokTransport = {
    ...adapters.tiktokTransport,
    signApiKey: config.tiktokSignApiKey,
    session: tiktokSession(config),
    authenticateWs: config.tiktokAuthenticateWs,
    proxyAgent,
    signingProxyAgent: config.tiktokProxySigning ? proxyAgent : undefined,
  };
  if (config.tiktokProxyUrl !== undefined) {
    log.child({ component: 'tiktok' }).info({ proxy: describeProxyUrl(config.tiktokProxyUrl), signing: config.tiktokProxySigning === true }, 'TikTok traffic goes through the proxy');
  }
  return new StreamMonitor({
    connect: adapters.connectLive ?? createTikTokConnectionFactory(transport, log.child({ component: 'tiktok' })),
    listener,
    log: log.child({ component: 'monitor' }),
    ...(tuning.budgets ? { budgets: tuning.budgets } : {}),
    // The connect budget follows what the signing service allows this key (fixed budgets above win).
    ...(adapters.connectLive ? {} : { signLimits: () => fetchSignLimits(transport) }),
    connectOverrides: { perMinute: config.tiktokConnectsPerMinute, perHour: config.tiktokConnectsPerHour },
    ...(tuning.supervisorTimings ? { timings: tuning.supervisorTimings } : {}),
    // A cluster's nodes share one connect budget (src/cluster/shared-connect-budget.ts).
    ...(connectGate ? { connectGate } : {}),
  });
}
