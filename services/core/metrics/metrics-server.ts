/**
 * The tiny HTTP endpoint of every process: `GET /metrics` (Prometheus text exposition format
 * 0.0.4 from the process's own registry) and `GET /healthz` (200 with a small JSON object).
 * Nothing else is served and nothing secret is ever in either answer: the registry holds only
 * figures and the run's public labels, and `/healthz` only the status and the process's role.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { MetricsListen } from './metrics-options.js';
import { MetricsListenError } from './metrics-errors.js';

export interface MetricsServerOptions {
  readonly registry: Registry;
  readonly listen: MetricsListen;
  readonly logger: Logger;
  /** `coordinator` or `worker`: reported by /healthz and in the log line. */
  readonly role: string;
}

export interface MetricsServer {
  /** `http://host:port` as bound (the real port when 0 was asked for). */
  readonly url: string;
  readonly port: number;
  /** Stop listening and drop open (keep-alive) connections. */
  close(): Promise<void>;
}

/**
 * Start serving. The server does not keep the process alive (a finished worker exits even if
 * Prometheus holds a keep-alive connection); call `close` on orderly shutdown anyway.
 * Throws MetricsListenError when the address cannot be bound.
 */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => void handle(opts, req, res));
  // Scrapes are small and frequent; a stuck client must not hold a socket forever.
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new MetricsListenError(opts.listen.host, opts.listen.port, err.code, { cause: err }));
    server.once('error', onError);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => opts.logger.error({ err: err.message }, 'metrics server error'));
  server.unref();
  const { port } = server.address() as AddressInfo;
  const host = opts.listen.host.includes(':') ? `[${opts.listen.host}]` : opts.listen.host;
  const url = `http://${host}:${port}`;
  opts.logger.info({ metricsUrl: `${url}/metrics`, role: opts.role }, 'serving metrics');
  return { url, port, close: () => closeServer(server) };
}

async function handle(opts: MetricsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  if (path === '/healthz') {
    send(res, req, 200, 'application/json', `${JSON.stringify({ status: 'ok', role: opts.role })}\n`);
    return;
  }
  if (path === '/metrics') {
    try {
      const text = await opts.registry.metrics();
      send(res, req, 200, opts.registry.contentType, text);
    } catch (err) {
      // A collect() callback failed: answer 500 (Prometheus marks the scrape failed, `up` = 0)
      // rather than half an exposition.
      opts.logger.error({ err: (err as Error).message }, 'collecting metrics failed');
      send(res, req, 500, 'text/plain; charset=utf-8', `collecting metrics failed: ${(err as Error).message}\n`);
    }
    return;
  }
  send(res, req, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
}

function send(res: ServerResponse, req: IncomingMessage, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
