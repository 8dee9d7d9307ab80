// Resource bounds (reliability issue, part 5), on the components themselves with small bounds:
// the token caches of authentication, the connection pool to the model endpoint, the log buffer
// and the conversation log's segments. Each is
// driven past its bound; the test checks what it holds stays at the bound and what happens to
// the rest. HTTP-level bounds are in
// bounds.test.ts; docs/reliability-bounds.md lists every bound and its test.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogShipper } from '../../src/backup/log-shipper.js';
import { openRepositoryCrypto } from '../../src/backup/open-repository.js';
import { configSchema } from '../../src/config/schema.js';
import { AppError } from '../../src/errors.js';
import { createLogger, droppedLogLines } from '../../src/logger.js';
import { OpenAICompatibleModel } from '../../src/providers/openai-compatible/model.js';
import { openSecurity, type SecurityContext } from '../../src/security/index.js';
import { issueJwt, JwtVerifier } from '../../src/security/jwt.js';
import { mintToken, OpaqueTokenVerifier } from '../../src/security/tokens.js';
import { openSqliteStore } from '../../src/storage/sqlite/store.js';
import type { Store } from '../../src/storage/types.js';
import { silentLogger } from '../support/encrypted-store.js';
import { eventually, FakeUpstream } from '../support/fake-upstream.js';
import { testSealer } from '../support/sealer.js';

const now = Date.UTC(2026, 0, 1);
const clock = () => now;
const bound = 20;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

describe('token caches of authentication', () => {
  let store: Store;
  let security: SecurityContext;
  beforeAll(async () => {
    store = openSqliteStore({ path: ':memory:' });
    security = await openSecurity({
      config: configSchema.parse({}),
      store,
      sealer: testSealer(),
      clock,
    });
    await security.keyring.ensureCurrent();
  });
  afterAll(async () => {
    await store.close();
  });

  it('the JWT verifier remembers at most cacheEntries tokens; a forgotten one is checked again', async () => {
    const verifier = new JwtVerifier(security.keyring, store.tokens, security.jwt, clock, bound);
    const tokens = await Promise.all(
      Array.from({ length: bound + 10 }, (_, index) =>
        issueJwt(security.keyring, security.jwt, {
          principal: `user-${index}`,
          groups: [],
          ttlMs: 3_600_000,
          now,
        }),
      ),
    );
    for (const issued of tokens) {
      expect((await verifier.verify(issued.token)).subject).toMatch(/^user-/);
      expect(verifier.cachedTokens).toBeLessThanOrEqual(bound);
    }
    expect(verifier.cachedTokens).toBe(bound);
    // The first ten were forgotten (least recently used): they still verify, by signature.
    expect((await verifier.verify(tokens[0]!.token)).subject).toBe('user-0');
    expect(verifier.cachedTokens).toBe(bound);
    // Tokens that fail verification are never remembered.
    const forged = `${tokens[1]!.token.slice(0, -4)}AAAA`;
    expect(await codeOf(verifier.verify(forged))).toBe('invalid_token');
    expect(verifier.cachedTokens).toBe(bound);
  });

  it('the opaque-token verifier caches at most cacheEntries records, and none for unknown ids', async () => {
    const verifier = new OpaqueTokenVerifier(store.tokens, clock, { cacheEntries: bound });
    const unknown = Array.from(
      { length: 100 },
      (_, index) => `asd_${index.toString(16).padStart(16, '0')}_${'A'.repeat(43)}`,
    );
    for (const token of unknown) expect(await codeOf(verifier.verify(token))).toBe('invalid_token');
    expect(verifier.cachedTokens).toBe(0);
    const issued = Array.from({ length: bound + 10 }, (_, index) =>
      mintToken({ principal: `user-${index}`, now }),
    );
    for (const { record } of issued) await store.tokens.insertToken(record);
    for (const { token } of issued) {
      expect((await verifier.verify(token)).name).toMatch(/^user-/);
      expect(verifier.cachedTokens).toBeLessThanOrEqual(bound);
    }
    expect(verifier.cachedTokens).toBe(bound);
    expect((await verifier.verify(issued[0]!.token)).name).toBe('user-0');
    expect(verifier.cachedTokens).toBe(bound);
  });
});

describe('the model endpoint', () => {
  it('upstream.max_connections: calls past the pool size wait for a connection instead of opening more', async () => {
    const upstream = await FakeUpstream.start();
    const maxConnections = 2;
    const model = new OpenAICompatibleModel({
      url: upstream.url,
      apiKey: undefined,
      modelName: 'gpt-4o-mini',
      maxConnections,
      connectTimeoutMs: 1000,
      firstByteTimeoutMs: 5000,
      idleTimeoutMs: 5000,
      allowHosts: [],
      totalTimeoutMs: 60_000,
      capabilities: { images: false, contextWindow: 8192 },
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, random: () => 0.5 },
      logger: pino({ level: 'silent' }),
    });
    try {
      const calls = 3 * maxConnections;
      upstream.enqueue(
        ...Array.from({ length: calls }, () => ({
          kind: 'json' as const,
          fixture: 'completion.json',
          delayMs: 100,
        })),
      );
      let peak = 0;
      const watch = setInterval(() => (peak = Math.max(peak, upstream.openResponses)), 5);
      const answers = await Promise.all(
        Array.from({ length: calls }, () =>
          model.generate(
            { messages: [{ role: 'user', content: 'hi' }] },
            AbortSignal.timeout(10_000),
          ),
        ),
      );
      clearInterval(watch);
      expect(answers.every((answer) => answer.text !== '')).toBe(true);
      expect(upstream.connections).toBeLessThanOrEqual(maxConnections);
      expect(peak).toBeLessThanOrEqual(maxConnections);
      expect(peak).toBeGreaterThan(0);
    } finally {
      await model.close();
      await upstream.close();
    }
  });
});

describe('the log buffer', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'assistd-bounds-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('while the output is stuck, lines past the buffer bound are dropped and counted, not kept', async () => {
    // A FIFO whose only reader does not read: once the pipe is full, every write waits.
    const fifo = join(dir, 'log.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const maxBufferedBytes = 256 * 1024;
    const logger = createLogger('info', { file: fifo, maxBufferedBytes });
    const stream = (logger as unknown as Record<symbol, NodeJS.WritableStream>)[
      pino.symbols.streamSym
    ]!;
    stream.on('error', () => undefined);
    const droppedBefore = droppedLogLines();
    const filler = 'x'.repeat(1000);
    const lines = 6000;
    // Across many event-loop turns, so the file is open and the pipe fills while lines arrive.
    for (let batch = 0; batch < lines / 200; batch++) {
      for (let index = 0; index < 200; index++) logger.info({ filler }, 'line');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const dropped = droppedLogLines() - droppedBefore;
    // At most the bound plus what the pipe took got through: everything else was dropped.
    expect(dropped).toBeGreaterThan(lines - (maxBufferedBytes + 1024 * 1024) / 1000);

    // Drain the pipe: every line either arrived whole or was counted as dropped.
    let received = '';
    const chunk = Buffer.alloc(64 * 1024);
    let quietSince = Date.now();
    while (Date.now() - quietSince < 300) {
      let read: number;
      try {
        read = readSync(reader, chunk);
      } catch {
        read = 0; // EAGAIN: nothing waiting right now
      }
      if (read > 0) {
        received += chunk.toString('utf8', 0, read);
        quietSince = Date.now();
      } else {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const arrived = received.split('\n').filter((line) => line.includes('"msg":"line"'));
    expect(arrived.length + dropped).toBe(lines);
    expect(arrived.length * 1000).toBeLessThan(maxBufferedBytes + 1024 * 1024);
    stream.end();
    closeSync(reader);
  });
});

describe('the conversation log', () => {
  it('seals a segment once it holds maxSegmentBytes, long before its delay; no shipped segment is larger', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'assistd-bounds-log-'));
    try {
      const config = configSchema.parse({ data_dir: dataDir });
      const { objects, crypto } = await openRepositoryCrypto(config, silentLogger);
      const maxSegmentBytes = 8 * 1024;
      const shipper = await LogShipper.open({
        folder: join(dataDir, 'conversation-log'),
        objects,
        crypto,
        logger: pino({ level: 'silent' }),
        maxDelayMs: 3_600_000,
        maxSegmentBytes,
      });
      const records = 60;
      for (let index = 0; index < records; index++) {
        await shipper.append({
          type: 'rename',
          at: index,
          principal: 'p',
          id: `c${index}`,
          title: 'x'.repeat(1000),
        });
      }
      // Sealed by size alone (the delay is an hour): one segment per ~8 KiB, each uploaded.
      const expected = Math.floor((records * 1000) / maxSegmentBytes) - 1;
      await eventually(() => shipper.shipped >= expected, 5_000);
      await shipper.close();
      const sizes: number[] = [];
      for await (const info of objects.list('conversation-log/')) sizes.push(info.size);
      expect(sizes.length).toBeGreaterThan(5);
      // A segment is sealed by the append that reaches the bound: at most one record over it.
      for (const size of sizes) expect(size).toBeLessThan(maxSegmentBytes + 2048);
      await crypto.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
