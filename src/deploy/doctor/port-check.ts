import { createServer } from 'node:net';
import type { Config } from '../../config/schema.js';
import { fail, pass, skip, type Check, type CheckOutcome } from './check.js';

/**
 * The server's port (and the metrics listener's, when set) is free: listen on it and close at
 * once. Only this tells apart "in use", "not an address of this machine" and "needs privileges",
 * which is what the operator has to know.
 */
export function portChecks(config: Readonly<Config>): Check[] {
  const metrics = config.metrics.listen;
  return [
    {
      id: 'port-free',
      title: 'Listen port',
      run: () => probeListen(config.host, config.port),
    },
    {
      id: 'metrics-port-free',
      title: 'Metrics listen port',
      run: async () => {
        if (metrics === undefined) return skip('no metrics.listen configured');
        const at = metrics.lastIndexOf(':');
        const host = metrics.slice(0, at).replace(/^\[(.*)\]$/, '$1');
        return probeListen(host, Number(metrics.slice(at + 1)));
      },
    },
  ];
}

/** Listens on host:port and closes at once; says why it could not. */
export function probeListen(host: string, port: number): Promise<CheckOutcome> {
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      switch (error.code) {
        case 'EADDRINUSE':
          resolve(fail(`${where} is already in use (another assistd, or another service)`));
          break;
        case 'EADDRNOTAVAIL':
          resolve(fail(`${where}: ${host} is not an address of this machine`));
          break;
        case 'EACCES':
          resolve(fail(`${where}: permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)`));
          break;
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
          resolve(fail(`${where}: the host name ${host} does not resolve`));
          break;
        default:
          resolve(fail(`${where}: cannot listen (${error.code ?? error.message})`));
      }
    });
    // exclusive: in a cluster worker, not sharing the primary's handle, which would hide a holder.
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() =>
        resolve(pass(port === 0 ? `${where}: the system picks a free port` : `${where} is free`)),
      );
    });
  });
}
