// A fast OpenAI-compatible endpoint for benchmarks: answers every chat call with the recorded
// completion fixture, and /v1/models with one model. Prints its URL on stdout.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const completion = readFileSync(
  new URL('../src/providers/openai-compatible/__fixtures__/completion.json', import.meta.url),
);
const models = Buffer.from(
  JSON.stringify({ object: 'list', data: [{ id: 'bench-model', object: 'model' }] }),
);

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    const body = request.url?.endsWith('/models') ? models : completion;
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    response.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`http://127.0.0.1:${address.port}`);
});
