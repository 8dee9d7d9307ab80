import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { channelSchema, createNotifier } from './index.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-channels-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The zod issues of `config`, as `path: message`. */
function problems(config: Record<string, unknown>): string[] {
  const parsed = channelSchema.safeParse(config);
  return parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('channelSchema', () => {
  it('fills defaults but never a secret', () => {
    expect(channelSchema.parse({ type: 'wecom', key: 'k-1234' })).toEqual({
      type: 'wecom',
      key: 'k-1234',
      url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send',
      allow_hosts: [],
    });
    expect(problems({ type: 'wecom' })).toEqual(['key: key (or key_file) is required']);
    expect(problems({ type: 'dingtalk' })).toEqual([
      'access_token: access_token (or access_token_file) is required',
    ]);
    expect(problems({ type: 'feishu' })).toEqual(['url: url (or url_file) is required']);
    expect(problems({ type: 'webhook' })).toEqual(['url: url (or url_file) is required']);
  });

  it('refuses a secret given both inline and as a file, and unknown keys', () => {
    expect(problems({ type: 'wecom', key: 'k-1234', key_file: '/k' })).toEqual([
      'key: give key or key_file, not both',
    ]);
    expect(problems({ type: 'wecom', key: 'k-1234', token: 'x' })).toHaveLength(1);
  });

  it('checks webhook templates, formats and headers when the config is read', () => {
    const base = { type: 'webhook', url: 'https://gw.example/send' };
    expect(problems({ ...base, format: 'template' })).toEqual([
      'template: format "template" needs a template',
    ]);
    expect(problems({ ...base, template: '{}' })).toEqual([
      'template: template is only used with format "template"',
    ]);
    const [broken] = problems({ ...base, format: 'template', template: '{"text":"{{summary}}",}' });
    expect(broken).toMatch(/^template: the template is not valid JSON once its placeholders/);
    expect(problems({ ...base, format: 'template', template: '{"t":"{{when}}"}' })[0]).toMatch(
      /^template: unknown placeholder \{\{when\}\}/,
    );
    expect(problems({ ...base, headers: { 'Content-Length': '1' } })).toEqual([
      'headers.Content-Length: is set by assistd itself',
    ]);
    expect(problems({ ...base, url: 'ftp://gw.example/' })).toEqual([
      'url: must be an http(s) URL',
    ]);
  });

  it('wants email credentials in pairs and lower-cases allow_hosts', () => {
    const email = {
      type: 'email',
      host: 'smtp.example.com',
      from: 'a@example.com',
      to: ['b@example.com'],
    };
    expect(problems({ ...email, username: 'alerts' })).toEqual([
      'username: give both username and password (or password_file), or neither',
    ]);
    expect(problems({ ...email, to: [] })).toHaveLength(1);
    const parsed = channelSchema.parse({
      type: 'wecom',
      key: 'k-1234',
      allow_hosts: ['Proxy.LAN', '[FD00::1]'],
    });
    expect(parsed.type === 'wecom' && parsed.allow_hosts).toEqual(['proxy.lan', 'fd00::1']);
  });
});

describe('secrets from files', () => {
  it('reads *_file at creation, trimming the final newline', async () => {
    const keyFile = join(folder, 'wecom-key');
    writeFileSync(keyFile, 'file-key-9876\n');
    const { Receiver } = await import('./__fixtures__/receiver.js');
    const robot = await new Receiver().start();
    try {
      const wecom = createNotifier(
        'ops',
        channelSchema.parse({
          type: 'wecom',
          url: `${robot.url}/send`,
          key_file: keyFile,
          allow_hosts: ['127.0.0.1'],
        }),
      );
      writeFileSync(keyFile, 'changed-later');
      await wecom.send({ status: 'firing', groupKey: 'g', alerts: [] }, AbortSignal.timeout(5000));
      expect(robot.received[0]!.url).toBe('/send?key=file-key-9876');
    } finally {
      await robot.stop();
    }
  });

  it('names the field and file, never the contents, when a file is missing or empty', () => {
    const config = (file: string) =>
      channelSchema.parse({ type: 'dingtalk', access_token_file: file, secret: 'SECabc' });
    expect(() => createNotifier('ding', config(join(folder, 'nope')))).toThrow(
      `channel "ding" (dingtalk): cannot read access_token_file ${join(folder, 'nope')} (ENOENT)`,
    );
    const empty = join(folder, 'empty');
    writeFileSync(empty, ' \n');
    expect(() => createNotifier('ding', config(empty))).toThrow(
      `access_token_file ${empty} is empty`,
    );
  });

  it('reads through an injected readFile', () => {
    const asked: string[] = [];
    const readFile = (path: string) => {
      asked.push(path);
      return 'hmac-from-vault';
    };
    createNotifier(
      'hook',
      channelSchema.parse({
        type: 'webhook',
        url: 'https://gw.example/send',
        hmac_secret_file: '/vault/hmac',
      }),
      { readFile },
    );
    expect(asked).toEqual(['/vault/hmac']);
  });
});
