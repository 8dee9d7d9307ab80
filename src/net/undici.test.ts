import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type * as Undici from 'undici';
import { Agent, Pool } from './undici.js';

describe('undici without its index', () => {
  it('gives the same classes as the package itself, with the request API', async () => {
    const undici = createRequire(import.meta.url)('undici') as typeof Undici;
    expect(Pool).toBe(undici.Pool);
    expect(Agent).toBe(undici.Agent);
    const server = createServer((request, response) =>
      response.end(`${request.method} ${request.url}`),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pool = new Pool(origin);
    const agent = new Agent();
    try {
      const pooled = await pool.request({ path: '/a?b=1', method: 'POST', body: 'x' });
      expect(await pooled.body.text()).toBe('POST /a?b=1');
      const routed = await agent.request({ origin, path: '/c', method: 'GET' });
      expect(routed.statusCode).toBe(200);
      expect(await routed.body.text()).toBe('GET /c');
    } finally {
      await Promise.all([pool.close(), agent.close()]);
      server.close();
    }
  });
});
