import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../support/cli.js';
import { FakeUpstream } from '../support/fake-upstream.js';
import { startServerProcess, type Child } from '../support/process.js';

/** Kills per run: the issue asks for at least 50 (ASSISTD_CRASH_KILLS to change). */
const kills = Number(process.env.ASSISTD_CRASH_KILLS ?? 50);

describe('crash consistency on one machine', () => {
  let upstream: FakeUpstream;
  const dataDir = mkdtempSync(join(tmpdir(), 'assistd-crash-'));
  // Budgets that never bite: every refusal here should be a crash, not a rate limit.
  const configFile = join(dataDir, 'crash.yaml');
  writeFileSync(
    configFile,
    'limits:\n  requests_per_minute: 1000000\n  request_burst: 1000000\n' +
      '  tokens_per_minute: 100000000\n  token_burst: 100000000\n',
  );
  beforeAll(async () => {
    upstream = await FakeUpstream.start();
  });
  afterAll(async () => {
    await upstream.close();
  });

  const cli = (...args: string[]) =>
    runCliCaptured([...args, '--data-dir', dataDir], { cwd: dataDir });

  async function start(): Promise<{ child: Child; url: string }> {
    return startServerProcess(
      [
        '--config',
        configFile,
        '--data-dir',
        dataDir,
        '--port',
        '0',
        '--model-endpoint',
        upstream.url,
        '--upstream-model',
        'gpt-4o-mini',
        '--log-level',
        'info',
      ],
      { ...process.env, ASSISTD_LOG_SHIPPING: 'true' },
    );
  }

  it(`keeps every acknowledged turn and a verifiable audit chain across ${kills} SIGKILLs`, async () => {
    // The first start makes the keys; a JWT issued then stays valid across restarts.
    const first = await start();
    const token = (await cli('tokens', 'issue', '--principal', 'crash@example.com')).stdout.trim();
    first.child.kill('SIGKILL');
    await first.child.exited;

    const acknowledged: Array<{ conversation: string; text: string }> = [];
    let tornTails = 0;
    for (let round = 0; round < kills; round++) {
      // What the killed server wrote after its last checkpoint is anchored as the next starts,
      // before it writes (else those records would wait across the downtime: a checkpoint gap).
      const left =
        round === 1
          ? (JSON.parse((await cli('audit', 'tail', '-n', '1', '--json')).stdout) as {
              seq: number;
            })
          : undefined;
      const { child, url } = await start();
      if (left) {
        const verified = await cli('audit', 'verify', '--json');
        const result = JSON.parse(verified.stdout) as { lastCheckpoint: { seq: number } };
        expect(result.lastCheckpoint.seq).toBeGreaterThanOrEqual(left.seq);
      }
      if (/cut a torn tail|checkpoint file repaired/.test(child.stdout)) tornTails += 1;
      const pool = new Pool(url, { connections: 8 });
      // Every acknowledged turn so far is there after the restart (a sample, to stay quick).
      for (const turn of acknowledged.slice(-6)) {
        const response = await pool.request({
          path: `/v1/conversations/${turn.conversation}`,
          method: 'GET',
          headers: { authorization: `Bearer ${token}` },
        });
        const body = (await response.body.json()) as { messages?: Array<{ content: string }> };
        expect(response.statusCode, turn.conversation).toBe(200);
        expect(body.messages!.map((message) => message.content)).toContain(turn.text);
      }
      // Writes in flight, then the kill at a random moment.
      let stop = false;
      const writers = Array.from({ length: 6 }, async (_, writer) => {
        for (let n = 0; !stop; n++) {
          const text = `round ${round} writer ${writer} turn ${n}`;
          try {
            const response = await pool.request({
              path: '/v1/chat',
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({ messages: [{ role: 'user', content: text }] }),
            });
            const body = (await response.body.json()) as { conversation_id?: string };
            if (response.statusCode === 200)
              acknowledged.push({ conversation: body.conversation_id!, text });
          } catch {
            return; // the server died mid-request: not acknowledged
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 250));
      child.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await child.exited;
      await pool.destroy();
    }

    // Last restart: every acknowledged turn, and the chain verifies.
    const { child, url } = await start();
    const pool = new Pool(url, { connections: 8 });
    const missing: string[] = [];
    for (const turn of acknowledged) {
      const response = await pool.request({
        path: `/v1/conversations/${turn.conversation}`,
        method: 'GET',
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await response.body.json()) as {
        messages?: Array<{ content: string }>;
        error?: { code: string };
      };
      if (!body.messages?.some((message) => message.content === turn.text)) {
        missing.push(`${turn.text} (HTTP ${response.statusCode} ${body.error?.code ?? ''})`);
      }
    }
    await pool.destroy();
    child.kill('SIGTERM');
    await child.exited;
    const verified = await cli('audit', 'verify');
    console.log(
      `${kills} SIGKILLs: ${acknowledged.length} acknowledged turns, ${missing.length} missing; ` +
        `torn tails repaired at restart (conversation log, checkpoint file): ${tornTails}; audit verify exit ${verified.code}`,
    );
    expect(missing).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(kills);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  }, 600_000);
});
