import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCliCaptured } from '../../test/support/cli.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-cli-alerts-'));
let receiver: Server;
let receiverUrl = '';
const received: Array<{ url: string; body: unknown }> = [];
let answer = { status: 200, body: { errcode: 0, errmsg: 'ok' } as unknown };

beforeAll(async () => {
  receiver = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ url: request.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()) });
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  writeFileSync(
    join(folder, 'config.yaml'),
    [
      'alerts:',
      '  channels:',
      '    wecom:',
      '      type: wecom',
      `      url: ${receiverUrl}/cgi-bin/webhook/send`,
      '      key: robot-key-secret',
      '      allow_hosts: ["127.0.0.1"]',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(folder, 'rules.yaml'),
    [
      'rules:',
      '  - name: slow',
      '    metric: request_latency_ms',
      '    aggregation: p95',
      '    window: 10m',
      '    comparison: ">"',
      '    threshold: 500',
      '    severity: critical',
      '    channels: [wecom]',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(folder, 'bad-rules.yaml'),
    'rules:\n  - name: x\n    metric: cpu_pct\n    aggregation: avg\n    window: 1m\n    comparison: ">"\n    threshold: 1\n    severity: warning\n    channels: []\n',
  );
});
afterAll(async () => {
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  rmSync(folder, { recursive: true, force: true });
});

function cli(args: string[]) {
  return runCliCaptured(['alerts', ...args], { cwd: folder });
}

describe('assistd alerts check', () => {
  it('lists the built-in rules, warning about channels that are not configured', async () => {
    const result = await cli(['check']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('latency-p99-high: p99 request_latency_ms over 5m > 2000');
    expect(result.stdout).toContain('3 rules');
    expect(result.stderr).toMatch(/warning: .*email/);
  });

  it('checks a rules file against the configured channels, naming the line of a problem', async () => {
    const good = await cli(['check', 'rules.yaml', '--config', 'config.yaml']);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('slow: p95 request_latency_ms over 10m > 500');
    const unknownChannel = await cli(['check', 'rules.yaml']);
    expect(unknownChannel.code).toBe(2);
    expect(unknownChannel.stderr).toMatch(/rules\.yaml:\d+:\d+: .*wecom/);
    const bad = await cli(['check', 'bad-rules.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad-rules\.yaml:3:\d+: .*cpu_pct/);
  });
});

describe('assistd alerts test', () => {
  it("sends a test message through the channel and prints the receiver's answer", async () => {
    received.length = 0;
    answer = { status: 200, body: { errcode: 0, errmsg: 'ok' } };
    const result = await cli(['test', '--channel', 'wecom', '--config', 'config.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^wecom \(wecom\): 200 delivered/);
    expect(result.stdout).not.toContain('robot-key-secret');
    expect(received).toHaveLength(1);
    expect(received[0]!.url).toBe('/cgi-bin/webhook/send?key=robot-key-secret');
    expect(JSON.stringify(received[0]!.body)).toContain('Test message from assistd');
  });

  it('emails a test message through an SMTP server running as its own process', async () => {
    const smtp = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, '../../test/support/smtp-receiver.ts')],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const lines = createInterface({ input: smtp.stdout })[Symbol.asyncIterator]();
      const next = async () => String((await lines.next()).value);
      const port = Number(/^listening (\d+)$/.exec(await next())?.[1]);
      writeFileSync(
        join(folder, 'mail.yaml'),
        [
          'alerts:',
          '  channels:',
          '    mail:',
          '      type: email',
          '      host: 127.0.0.1',
          `      port: ${port}`,
          '      require_tls: false',
          '      from: assistd@example.com',
          '      to: [oncall@example.com, sre@example.com]',
          '',
        ].join('\n'),
      );
      const result = await cli(['test', '--channel', 'mail', '--config', 'mail.yaml']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^mail \(email\): .*delivered/);
      const message = JSON.parse(await next()) as { from: string; to: string[]; data: string };
      expect(message.from).toBe('assistd@example.com');
      expect(message.to).toEqual(['oncall@example.com', 'sre@example.com']);
      expect(message.data).toMatch(/^Subject: \[TEST\] assistd assistd-test\r?$/m);
      expect(message.data).toContain('Test message from assistd');
    } finally {
      smtp.kill('SIGTERM');
    }
  });

  it('exits 1 when the receiver refuses, 2 for a channel that does not exist', async () => {
    answer = { status: 200, body: { errcode: 93000, errmsg: 'invalid webhook url' } };
    const refused = await cli(['test', '--channel', 'wecom', '--config', 'config.yaml']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('failed');
    expect(refused.stdout + refused.stderr).not.toContain('robot-key-secret');
    const missing = await cli(['test', '--channel', 'pager', '--config', 'config.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no channel "pager"');
  });
});

describe('assistd alerts export', () => {
  it('writes a PrometheusRule with histogram_quantile for the P99 rule', async () => {
    const result = await cli(['export', '--format', 'prometheus', '--namespace', 'ops']);
    expect(result.code).toBe(0);
    const resource = parseYaml(result.stdout) as {
      kind: string;
      metadata: { namespace: string };
      spec: { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    };
    expect(resource.kind).toBe('PrometheusRule');
    expect(resource.metadata.namespace).toBe('ops');
    const rules = resource.spec.groups[0]!.rules;
    expect(rules.map((rule) => rule.alert)).toEqual([
      'AssistdCpuHigh',
      'AssistdLatencyP99High',
      'AssistdErrorRateHigh',
    ]);
    expect(rules[1]!.expr).toBe(
      '1000 * histogram_quantile(0.99, sum by (le) (rate(assistd_http_request_duration_seconds_bucket[5m]))) > 2000',
    );
  });

  it('writes a Grafana dashboard to a file', async () => {
    const result = await cli(['export', '--format', 'grafana', '--out', 'dashboard.json']);
    expect(result.code).toBe(0);
    const dashboard = JSON.parse(readFileSync(join(folder, 'dashboard.json'), 'utf8')) as {
      panels: unknown[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(5);
  });

  it('refuses an unknown format with exit 2', async () => {
    expect((await cli(['export', '--format', 'nagios'])).code).toBe(2);
    expect((await cli(['export'])).code).toBe(2);
  });
});
