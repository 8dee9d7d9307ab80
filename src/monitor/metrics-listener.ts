import { createServer } from 'node:http';
import type { Monitor } from './monitor.js';

/**
 * Connections the scrape listener holds at most; more are closed as they arrive. A Prometheus
 * pair needs two; the bound keeps anything else on the pod network from spending the process's
 * file descriptors, which the main port needs too.
 */
export const maxScrapeConnections = 32;

/** A scraper sends its request at once: a connection silent this long is closed (ms). */
const scrapeRequestTimeoutMs = 10_000;

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/**
 * The separate scrape listener (`metrics.listen`): `GET /metrics` and nothing else, no token, so
 * a cluster's Prometheus can scrape the pod IP while the main port keeps requiring one. It holds
 * no data beyond the metrics themselves (bounded labels, no principals or ids), which is why it
 * may run without TLS on a pod network; keep it off the public network.
 */
export async function listenForScrapes(
  address: string,
  monitor: Monitor,
): Promise<MetricsListener> {
  const split = address.lastIndexOf(':');
  const host = address.slice(0, split).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(split + 1));
  const server = createServer(
    {
      headersTimeout: scrapeRequestTimeoutMs,
      requestTimeout: scrapeRequestTimeoutMs,
      connectionsCheckingInterval: 1_000,
    },
    (request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end();
        return;
      }
      monitor.prometheus.scrape().then(
        ({ body, contentType }) => {
          response.writeHead(200, { 'content-type': contentType });
          response.end(request.method === 'HEAD' ? undefined : body);
        },
        () => {
          response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
        },
      );
    },
  );
  server.keepAliveTimeout = 65_000;
  server.maxConnections = maxScrapeConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${boundPort}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
