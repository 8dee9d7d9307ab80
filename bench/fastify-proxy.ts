// The bare proxy's work (bench/bare-proxy.ts) done through Fastify 5, the framework the service is
// built on, in three steps of what any gateway on it adds. Usage: fastify-proxy.ts UPSTREAM_URL MODE
//   bytes  the request body and the answer pass through as bytes
//   json   Fastify's JSON body parser; the answer is parsed and sent as an object (JSON.stringify)
//   log    json, plus one pino access line per request to a file (as assistd writes its own)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { LogController } from 'fastify';
import { pino } from 'pino';
import { Pool } from 'undici';

const [upstream, mode] = process.argv.slice(2) as [string, 'bytes' | 'json' | 'log'];
const pool = new Pool(upstream, { connections: 128, pipelining: 1 });
const file = join(mkdtempSync(join(tmpdir(), 'assistd-bench-')), 'access.log');
const app = Fastify(
  mode === 'log'
    ? {
        loggerInstance: pino(pino.destination({ dest: file, sync: false, minLength: 4096 })),
        logController: new LogController({ disableRequestLogging: true }),
      }
    : {},
);
if (mode === 'bytes') {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
}
if (mode === 'log') {
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info({ status: reply.statusCode, ms: reply.elapsedTime }, 'request');
    done();
  });
}
app.post('/v1/chat/completions', async (request, reply) => {
  const answer = await pool.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    body: mode === 'bytes' ? (request.body as Buffer) : JSON.stringify(request.body),
  });
  const text = await answer.body.text();
  if (mode === 'bytes') return reply.type('application/json').send(text);
  return JSON.parse(text) as unknown;
});
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
