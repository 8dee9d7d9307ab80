import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { repoRoot } from '../support/process.js';

// No Docker engine here: the compose file is checked for structure, and the assistd config it
// mounts is loaded by the real loader.
const folder = join(repoRoot, 'deploy/compose');
interface Service {
  image: string;
  environment?: Record<string, string>;
  secrets?: (string | { source: string; target: string })[];
  configs?: { source: string; target: string }[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  read_only?: boolean;
  user?: string;
  cap_drop?: string[];
  tmpfs?: string[];
  security_opt?: string[];
  stop_grace_period?: string;
  command?: string[];
}
const compose = parse(readFileSync(join(folder, 'compose.yaml'), 'utf8')) as {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  configs: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
};
const assistd = compose.services.assistd!;
const configText = readFileSync(join(folder, 'assistd.yaml'), 'utf8');

describe('single-host compose file', () => {
  it('runs assistd with PostgreSQL, Redis and an S3-compatible store, on pinned images', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['assistd', 'postgres', 'redis', 'minio']),
    );
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.image, name).toMatch(/:[^:]+$/);
      expect(service.image, name).not.toMatch(/:latest$/);
    }
    expect(assistd.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      'minio-bucket': { condition: 'service_completed_successfully' },
    });
    for (const name of ['postgres', 'redis', 'minio']) {
      expect(compose.services[name]!.healthcheck, name).toBeDefined();
    }
  });

  it('publishes only 18789, and runs assistd locked down', () => {
    const published = Object.entries(compose.services).filter(([, service]) => service.ports);
    expect(published.map(([name]) => name)).toEqual(['assistd']);
    expect(assistd.ports).toEqual(['${ASSISTD_PUBLISH:-18789}:18789']);
    expect(assistd.read_only).toBe(true);
    expect(assistd.user).toBe('10001:10001');
    expect(assistd.cap_drop).toEqual(['ALL']);
    expect(assistd.tmpfs).toEqual(['/tmp']);
    expect(assistd.security_opt).toContain('no-new-privileges:true');
    expect(assistd.volumes).toEqual(
      expect.arrayContaining(['models:/opt/models:ro', 'logs:/var/log/assistd']),
    );
    // The stop grace covers the drain the server gives streams after SIGTERM.
    const drain = loadConfig({ cwd: '/' }).shutdown_grace_seconds;
    expect(Number.parseInt(assistd.stop_grace_period!, 10)).toBeGreaterThan(drain);
  });

  it('declares every secret, config and volume it uses, and mounts the API key where the runbook says', () => {
    const used = Object.values(compose.services).flatMap((service) =>
      (service.secrets ?? []).map((secret) =>
        typeof secret === 'string' ? secret : secret.source,
      ),
    );
    for (const name of used) expect(compose.secrets[name], name).toBeDefined();
    for (const config of assistd.configs ?? []) {
      expect(compose.configs[config.source]).toBeDefined();
    }
    const volumes = Object.values(compose.services).flatMap((service) =>
      (service.volumes ?? []).map((volume) => volume.split(':')[0]!),
    );
    for (const volume of volumes) expect(compose.volumes, volume).toHaveProperty(volume);
    const targets = (assistd.secrets ?? []).map((secret) =>
      typeof secret === 'string' ? `/run/secrets/${secret}` : secret.target,
    );
    expect(targets).toContain('/secrets/api_key.txt');
    // Every file the config names under /secrets is mounted there.
    const named = [...configText.matchAll(/\/secrets\/[\w.]+/g)].map((match) => match[0]);
    expect(named.length).toBeGreaterThan(5);
    for (const path of named) expect(targets, path).toContain(path);
    expect(assistd.configs?.[0]?.target).toBe(assistd.command?.[1]);
  });

  it('mounts an assistd config that the server loads, pointing at the compose services', () => {
    // The secret files, placed where the config expects them (under a temporary root).
    const root = mkdtempSync(join(tmpdir(), 'assistd-compose-'));
    mkdirSync(join(root, 'secrets'));
    for (const name of ['api_key.txt', 'postgres_password.txt', 'redis_password.txt']) {
      writeFileSync(join(root, 'secrets', name), 'secret\n');
    }
    const file = join(root, 'assistd.yaml');
    writeFileSync(file, configText.replaceAll('/secrets/', `${root}/secrets/`));
    const config = loadConfig({
      cwd: root,
      flags: { config: file },
      env: { MODEL_ENDPOINT: 'https://models.example.com' },
    });
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(18789);
    expect(config.tls.cert_file).toBe(`${root}/secrets/tls.crt`);
    expect(config.database.url).toBe('postgres://assistd@postgres:5432/assistd');
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(config.object_store.s3?.endpoint).toBe('http://minio:9000');
    expect(config.log_file).toBe('/var/log/assistd/assistd.log');
    expect(config.log_shipping.enabled).toBe(true);
    // The hosts are the compose services; the bucket is the one the bucket job makes.
    const bucketJob = JSON.stringify(compose.services['minio-bucket']);
    expect(bucketJob).toContain(`local/${config.object_store.s3?.bucket}`);
    expect(compose.services.postgres!.environment).toMatchObject({
      POSTGRES_USER: 'assistd',
      POSTGRES_DB: 'assistd',
    });
  });
});
