// A fast OpenAI-compatible endpoint for benchmarks: answers every chat call with the recorded
// completion fixture (the recorded stream when the call asks for one), and /v1/models with one
// model. Prints its URL on stdout.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const completion = readFileSync(
  new URL('../src/providers/openai-compatible/__fixtures__/completion.json', import.meta.url),
);
const stream = readFileSync(
  new URL('../src/providers/openai-compatible/__fixtures__/stream.sse', import.meta.url),
);
const models = Buffer.from(
  JSON.stringify({ object: 'list', data: [{ id: 'bench-model', object: 'model' }] }),
);

const server = createServer((request, response) => {
  let streamed = false;
  request.on('data', (chunk: Buffer) => {
    streamed ||= chunk.includes('"stream":true');
  });
  request.on('end', () => {
    const body = request.url?.endsWith('/models') ? models : streamed ? stream : completion;
    response.writeHead(200, {
      'content-type': streamed ? 'text/event-stream' : 'application/json',
      'content-length': body.length,
    });
    response.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`http://127.0.0.1:${address.port}`);
});
