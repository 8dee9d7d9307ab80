import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'assistd-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('configuration loading', () => {
  it('has defaults for everything but secrets and models', () => {
    const config = loadConfig({ cwd: '/srv' });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 18789,
      data_dir: '/srv/data',
      log_level: 'info',
      context_cache: { ttl_seconds: 1800 },
      limits: { body_bytes: 1048576 },
    });
    expect(config.api_key).toBeUndefined();
    expect(config.model_endpoint).toBeUndefined();
    expect(Object.isFrozen(config) && Object.isFrozen(config.upstream)).toBe(true);
  });

  it('layers defaults < file < env < flags', () => {
    const config = file(
      'layers.yaml',
      'port: 1000\nhost: 0.0.0.0\nlog_level: debug\nupstream:\n  context_window: 4096\n',
    );
    const loaded = loadConfig({
      flags: { config, port: '3000' },
      env: {
        ASSISTD_PORT: '2000',
        ASSISTD_LOG_LEVEL: 'warn',
        MODEL_ENDPOINT: 'https://api.example.com',
      },
      cwd: dir,
    });
    expect(loaded).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      log_level: 'warn',
      model_endpoint: 'https://api.example.com',
      upstream: { context_window: 4096, max_retries: 2 },
    });
  });

  it('reads the API key from a file, and a higher layer replaces a lower one', () => {
    const keyFile = file('key.txt', '  sk-from-file\n');
    expect(loadConfig({ env: { API_KEY_FILE: keyFile } }).api_key).toBe('sk-from-file');
    expect(loadConfig({ env: { API_KEY: 'sk-env' }, flags: { apiKeyFile: keyFile } }).api_key).toBe(
      'sk-from-file',
    );
    expect(
      loadConfig({ env: { API_KEY_FILE: keyFile }, flags: { apiKey: 'sk-flag' } }).api_key,
    ).toBe('sk-flag');
  });

  it('takes the log file from the file, ASSISTD_LOG_FILE or --log-file, resolved', () => {
    const config = file('log.yaml', 'log_file: from-file.log\n');
    expect(loadConfig({ cwd: '/srv', flags: { config } }).log_file).toBe('/srv/from-file.log');
    expect(
      loadConfig({ cwd: '/srv', flags: { config }, env: { ASSISTD_LOG_FILE: 'env.log' } }).log_file,
    ).toBe('/srv/env.log');
    expect(
      loadConfig({
        cwd: '/srv',
        flags: { config, logFile: '/var/log/assistd/assistd.log' },
        env: { ASSISTD_LOG_FILE: 'env.log' },
      }).log_file,
    ).toBe('/var/log/assistd/assistd.log');
    expect(loadConfig({ cwd: '/srv' }).log_file).toBeUndefined();
  });

  it('takes ASSISTD_CONFIG as the config file', () => {
    const config = file('env.yaml', 'port: 4321\n');
    expect(loadConfig({ env: { ASSISTD_CONFIG: config } }).port).toBe(4321);
  });

  it.each([
    ['unknown key', 'prot: 1\n', /Unrecognized key: "prot"/],
    ['wrong type', 'port: eighty\n', /port/],
    ['bad endpoint', 'model_endpoint: ftp://x\n', /http\(s\) URL/],
    ['not a mapping', '- a\n- b\n', /mapping/],
    ['bad YAML', 'port: [1\n', /not valid YAML/],
  ])('rejects a config file with %s', (_name, text, message) => {
    const config = file(`bad-${_name.replace(/\s/g, '-')}.yaml`, text);
    expect(() => loadConfig({ flags: { config } })).toThrow(message);
    expect(() => loadConfig({ flags: { config } })).toThrow(ConfigError);
  });

  it('says what is wrong with a number given as text (a flag or env), never "received string"', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ port: 'abc' }, /port must be a number, not "abc"/],
      [{ contextSize: '-5' }, /Too small.*\n.*local_model\.context_size/],
      [{ threads: '1.5' }, /expected int.*\n.*local_model\.threads/],
    ];
    for (const [flags, message] of cases) {
      expect(() => loadConfig({ flags, cwd: dir }), JSON.stringify(flags)).toThrow(message);
      expect(() => loadConfig({ flags, cwd: dir })).toThrow(ConfigError);
      expect(() => loadConfig({ flags, cwd: dir })).not.toThrow(/received string/);
    }
  });

  it('names a missing config or key file', () => {
    expect(() => loadConfig({ flags: { config: join(dir, 'nope.yaml') } })).toThrow(
      /cannot read config file .*nope.yaml: no such file/,
    );
    expect(() => loadConfig({ env: { API_KEY_FILE: join(dir, 'nokey') } })).toThrow(
      /cannot read api_key_file .*nokey/,
    );
    expect(() => loadConfig({ env: { API_KEY_FILE: file('empty', '\n') } })).toThrow(/is empty/);
  });

  it('rejects a bad port from a flag', () => {
    expect(() => loadConfig({ flags: { port: '99999' } })).toThrow(/port/);
    expect(() => loadConfig({ flags: { port: 'abc' } })).toThrow(/port/);
  });
});
