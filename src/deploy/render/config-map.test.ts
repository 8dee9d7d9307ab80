import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IConfigMap, IContainer } from 'kubernetes-models/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { parsePolicyText } from '../../security/policy/document.js';
import { everythingOn, runbook } from './__fixtures__/values.js';
import { checkValues, renderManifests, type ValuesInput } from './index.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-deploy-config-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The env the kubelet gives `container`: values, with $(POD_NAME) expanded. */
function podEnv(container: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    env[entry.name] = entry.valueFrom?.fieldRef ? 'assistd-7d9f-abcde' : (entry.value ?? '');
  }
  for (const [name, value] of Object.entries(env)) {
    env[name] = value.replace(/\$\((\w+)\)/g, (_all, ref: string) => env[ref] ?? '');
  }
  return env;
}

/** Loads the rendered config.yaml with the real loader, as the server container would. */
function loadRendered(input: ValuesInput, name: string) {
  const objects = renderManifests(checkValues(input)).map(({ manifest }) => manifest);
  const map = objects.find((o) => o.kind === 'ConfigMap') as IConfigMap;
  const deployment = objects.find((o) => o.kind === 'Deployment') as IDeployment;
  const container = deployment.spec!.template.spec!.containers[0]!;
  const file = join(folder, `${name}.yaml`);
  writeFileSync(file, map.data!['config.yaml']!);
  const args = container.args!;
  const flags = {
    config: file,
    host: args[args.indexOf('--host') + 1]!,
    port: args[args.indexOf('--port') + 1]!,
    tlsTerminatedByProxy: args.includes('--tls-terminated-by-proxy'),
  };
  // The secret files exist only in the pod; everything else is loaded and checked.
  const config = loadConfig({ flags, env: podEnv(container), cwd: folder, readSecrets: false });
  return { config, map };
}

describe('the rendered config.yaml', () => {
  it('loads with the real loader and the pod env (runbook values)', () => {
    const { config } = loadRendered(runbook, 'runbook');
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 18789,
      data_dir: '/var/lib/assistd',
      log_file: '/var/log/assistd/assistd-7d9f-abcde.log',
      model_path: '/opt/models',
      model_endpoint: 'https://llm.example.internal:8443/v1',
      api_key_file: '/secrets/api_key.txt',
      shutdown_grace_seconds: 25,
      tls: { terminated_by_proxy: true },
      security: { master_key_file: '/run/assistd/master.key' },
      database: {
        url: 'postgres://assistd@postgres:5432/assistd',
        password_file: '/secrets/database-password',
      },
      redis: { url: 'redis://redis:6379/0' },
      object_store: { s3: { bucket: 'assistd-backups', prefix: 'assistd/', region: 'us-east-1' } },
      backup: { models_folder: '/opt/models' },
      log_shipping: { enabled: true },
      metrics: { listen: '0.0.0.0:9464' },
    });
    expect(config.backup.schedule).toBeUndefined();
    expect(config.security.policies_file).toBeUndefined();
  });

  it('loads with everything switched on, policies included', () => {
    const { config, map } = loadRendered(everythingOn, 'everything');
    expect(config).toMatchObject({
      upstream: { model: 'llama3-70b', max_retries: 3 },
      limits: { requests_per_minute: 1200 },
      security: { policies_file: '/etc/assistd/policies.yaml' },
      redis: { password_file: '/secrets/redis-password' },
      object_store: {
        s3: {
          endpoint: 'https://minio.example.internal',
          access_key_id: 'AKIAEXAMPLE',
          secret_access_key_file: '/secrets/object-store-secret-key',
        },
      },
    });
    expect(config.log_file).toBeUndefined();
    expect(config.metrics.listen).toBeUndefined();
    expect(parsePolicyText(map.data!['policies.yaml']!, 'policies.yaml').statements).toHaveLength(
      1,
    );
  });
});
