import { describe, expect, it } from 'vitest';
import { configSchema, type ConfigInput } from '../config/schema.js';
import { StartupError } from '../providers/startup-error.js';
import { checkListenSecurity, isLoopbackHost } from './listen-check.js';

function config(input: Partial<ConfigInput>) {
  return configSchema.parse({ data_dir: '/srv/data', ...input });
}

describe('plain HTTP off loopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['localhost', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['192.168.1.2', false],
    ['::ffff:10.0.0.1', false],
    ['fe80::1', false],
    ['assistd.example.com', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('is refused with the reason and what to do', () => {
    const attempt = () => checkListenSecurity(config({ host: '0.0.0.0' }));
    expect(attempt).toThrow(StartupError);
    expect(attempt).toThrow(/refusing to serve plain HTTP on 0\.0\.0\.0/);
    expect(attempt).toThrow(/--tls-cert FILE --tls-key FILE/);
    expect(attempt).toThrow(/--tls-terminated-by-proxy/);
  });

  it('is allowed when a proxy terminates TLS, and TLS is allowed anywhere', () => {
    expect(() =>
      checkListenSecurity(config({ host: '0.0.0.0', tls: { terminated_by_proxy: true } })),
    ).not.toThrow();
    expect(() =>
      checkListenSecurity(
        config({
          host: '0.0.0.0',
          tls: { cert_file: '/etc/tls/c.pem', key_file: '/etc/tls/k.pem' },
        }),
      ),
    ).not.toThrow();
    expect(() => checkListenSecurity(config({ host: '127.0.0.1' }))).not.toThrow();
  });
});
