// The floor for any Node.js gateway: a ~20-line undici proxy that forwards the body and pipes the
// answer back, with no parsing, auth or logging. Usage: bare-proxy.ts UPSTREAM_URL
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(process.argv[2]!, { connections: 128, pipelining: 1 });
async function forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const upstream = await pool.request({
    method: 'POST',
    path: request.url ?? '/',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    body: Buffer.concat(chunks),
  });
  response.writeHead(upstream.statusCode, { 'content-type': 'application/json' });
  for await (const chunk of upstream.body) response.write(chunk);
  response.end();
}
const server = createServer((request, response) => void forward(request, response));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () =>
  console.log(`http://127.0.0.1:${(server.address() as { port: number }).port}`),
);
