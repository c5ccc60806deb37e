import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AppError } from '../util/errors.js';
import { healthReport, type HealthSource } from './health-source.js';
import type { BotMetrics } from './metrics.js';

/** Only this machine: the health and metrics pages are for a local supervisor or scraper. */
export const HEALTH_SERVER_HOST = '127.0.0.1';

/**
 * `GET /healthz` (200 when healthy, else 503, JSON either way) and `GET /metrics` (Prometheus text).
 * Anything else is 404; anything but GET/HEAD is 405. No request changes anything.
 */
export class HealthServer {
  private readonly server: Server;

  constructor(
    private readonly options: { readonly source: HealthSource; readonly metrics: BotMetrics; readonly log: Logger },
  ) {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      if (url.pathname === '/healthz') {
        const report = healthReport(this.options.source);
        res.writeHead(report.isHealthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ status: report.isHealthy ? 'ok' : 'unhealthy', ...report }));
        return;
      }
      if (url.pathname === '/metrics') {
        void this.options.metrics.text().then(
          (text) => res.writeHead(200, { 'content-type': this.options.metrics.contentType }).end(text),
          (err: unknown) => {
            this.options.log.error({ err }, 'could not collect the metrics');
            res.writeHead(500, { 'content-type': 'text/plain' }).end('could not collect the metrics\n');
          },
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
    });
  }

  /** Listens on 127.0.0.1:port (0: a free port); rejects with CONFIG_INVALID if it cannot (taken, or not allowed). */
  async listen(port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(new AppError('CONFIG_INVALID', `Cannot serve /healthz on ${HEALTH_SERVER_HOST}:${port} (${err.code ?? err.message}); set HTTP_PORT to a free port or leave it unset`, { cause: err }));
      this.server.once('error', onError);
      this.server.listen(port, HEALTH_SERVER_HOST, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    this.options.log.info({ url: `http://${HEALTH_SERVER_HOST}:${address.port}/healthz` }, 'health and metrics served');
    return address;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
