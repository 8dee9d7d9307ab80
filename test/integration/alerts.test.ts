import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/fake-upstream.js';
import { Harness } from '../support/harness.js';

/** A WeCom group robot stand-in: records every message, answers errcode 0 as WeCom does. */
class WecomReceiver {
  readonly messages: Array<{ key: string | null; content: string }> = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          msgtype: string;
          markdown: { content: string };
        };
        expect(body.msgtype).toBe('markdown');
        const key = new URL(request.url ?? '/', 'http://x').searchParams.get('key');
        this.messages.push({ key, content: body.markdown.content });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"errcode":0,"errmsg":"ok"}');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

type AlertsBody = {
  rules: Array<{ rule: { name: string }; state: { state: string; value?: number | null } }>;
  channels: Array<{ channel: string; sent: number }>;
};

describe('alerting end to end', () => {
  const folder = mkdtempSync(join(tmpdir(), 'assistd-alerts-'));
  const robot = new WecomReceiver();
  let harness: Harness;

  beforeAll(async () => {
    await robot.start();
    const rules = join(folder, 'rules.yaml');
    // The runbook's P99 rule with its windows shortened: 1 s slots, 3 s window, every second.
    writeFileSync(
      rules,
      [
        'rules:',
        '  - name: latency-p99-high',
        '    metric: request_latency_ms',
        '    aggregation: p99',
        '    window: 3s',
        '    every: 1s',
        '    comparison: ">"',
        '    threshold: 500',
        '    severity: warning',
        '    channels: [wecom]',
        '    summary: P99 latency',
        '',
      ].join('\n'),
    );
    harness = await Harness.start({
      config: {
        metrics: { series_resolution_seconds: 1 },
        alerts: {
          rules_file: rules,
          channels: {
            wecom: {
              type: 'wecom',
              url: `${robot.url}/cgi-bin/webhook/send`,
              key: 'e2e-robot-key',
              allow_hosts: ['127.0.0.1'],
            },
          },
        },
      },
    });
  });
  afterAll(async () => {
    await harness.close();
    await robot.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('sends the alert to the WeCom robot when a slow upstream pushes P99 over, then the resolution', async () => {
    const hello = { messages: [{ role: 'user', content: 'is anyone there?' }] };
    // Slow answers: every request in the window takes 800 ms.
    harness.upstream.enqueue(
      ...Array.from({ length: 4 }, () => ({
        kind: 'json' as const,
        fixture: 'completion.json',
        delayMs: 800,
      })),
    );
    const slow = await Promise.all(
      Array.from({ length: 4 }, () => harness.request('/v1/chat', { body: hello })),
    );
    expect(slow.map((response) => response.status)).toEqual([200, 200, 200, 200]);

    await eventually(() => robot.messages.length >= 1, 10_000);
    const [alert] = robot.messages;
    expect(alert!.key).toBe('e2e-robot-key');
    expect(alert!.content).toContain('[FIRING] assistd latency-p99-high');
    expect(alert!.content, alert!.content).toMatch(/P99 latency [\d.,]+ ?ms > 500 ?ms/);
    const firing = await harness.json<AlertsBody>('/admin/alerts');
    expect(firing.body.rules[0]!.state.state).toBe('firing');

    // Fast answers only: once the slow ones leave the 3 s window, P99 is back under 500 ms.
    const deadline = Date.now() + 15_000;
    while (robot.messages.length < 2 && Date.now() < deadline) {
      await harness.request('/v1/chat', { body: hello });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(robot.messages).toHaveLength(2);
    expect(robot.messages[1]!.content).toContain('[RESOLVED] assistd latency-p99-high');
    const resolved = await harness.json<AlertsBody>('/admin/alerts');
    expect(['resolved', 'inactive']).toContain(resolved.body.rules[0]!.state.state);
    expect(resolved.body.channels.find((channel) => channel.channel === 'wecom')?.sent).toBe(2);
    // No reminder or duplicate went out meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(robot.messages).toHaveLength(2);
    expect(harness.logs()).not.toContain('e2e-robot-key');
  }, 40_000);

  it('shows rules and states to admins only', async () => {
    expect((await harness.request('/admin/alerts', { principal: 'someone' })).status).toBe(403);
    const view = await harness.json<AlertsBody>('/admin/alerts');
    expect(view.status).toBe(200);
    expect(view.body.rules.map((entry) => entry.rule.name)).toEqual(['latency-p99-high']);
  });

  it('reloads a changed rules file, keeps the rules on an invalid one, and audits both', async () => {
    const rules = join(folder, 'rules.yaml');
    const text = readFileSync(rules, 'utf8');
    writeFileSync(rules, text.replace('threshold: 500', 'threshold: 900'));
    await harness.server.reload();
    type View = AlertsBody & { rules: Array<{ rule: { threshold: number } }> };
    expect((await harness.json<View>('/admin/alerts')).body.rules[0]!.rule.threshold).toBe(900);
    writeFileSync(rules, 'rules:\n  - name: broken\n');
    await harness.server.reload();
    expect((await harness.json<View>('/admin/alerts')).body.rules[0]!.rule.threshold).toBe(900);
    expect(harness.logs()).toContain('alert rules file rejected');
    const audit = await harness.json<{
      data: Array<{ action: string; error: string | null }>;
    }>('/admin/audit?action=update:alert-rules');
    // The file watcher may add its own reload records; the two explicit ones are there.
    const errors = audit.body.data.map((record) => record.error);
    expect(errors).toContain(null);
    expect(errors).toContain('invalid_alert_rules');
    writeFileSync(rules, text);
  });
});

describe('alerting at start', () => {
  it('refuses to start with an invalid rules file, naming the line', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'assistd-alerts-bad-'));
    const rules = join(folder, 'rules.yaml');
    writeFileSync(
      rules,
      'rules:\n  - name: x\n    metric: cpu_pct\n    aggregation: avg\n    window: 1m\n' +
        '    comparison: ">"\n    threshold: 1\n    severity: warning\n    channels: []\n',
    );
    await expect(Harness.start({ config: { alerts: { rules_file: rules } } })).rejects.toThrow(
      /rules\.yaml:3:\d+: .*cpu_pct/,
    );
    rmSync(folder, { recursive: true, force: true });
  });

  it('runs the three runbook rules by default, with no channel configured', async () => {
    const harness = await Harness.start();
    try {
      const view = await harness.json<AlertsBody>('/admin/alerts');
      expect(view.body.rules.map((entry) => entry.rule.name)).toEqual([
        'cpu-high',
        'latency-p99-high',
        'error-rate-high',
      ]);
      expect(view.body.rules.every((entry) => entry.state.state === 'inactive')).toBe(true);
    } finally {
      await harness.close();
    }
  });
});
