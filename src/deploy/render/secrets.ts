import type { ISecret } from 'kubernetes-models/v1';
import { metadata } from './labels.js';
import type { RenderedObject } from './manifest.js';
import type { Values } from './values-schema.js';

interface SecretKey {
  name: string;
  key: string;
  /** What to put there, shown as the placeholder value. */
  placeholder: string;
}

/** Every Secret key the manifests refer to, with what it must hold. */
export function referencedSecretKeys(values: Values): SecretKey[] {
  const { secrets } = values;
  const keys: SecretKey[] = [
    {
      ...secrets.masterKey,
      placeholder:
        'REPLACE: master key file, lines "v1:<base64 of 32 random bytes>" ' +
        '(printf "v1:%s\\n" "$(openssl rand -base64 32)"); the same file for every replica',
    },
  ];
  if (values.model.endpoint !== undefined) {
    keys.push({ ...secrets.apiKey, placeholder: 'REPLACE: the model endpoint API key' });
  }
  if (secrets.databasePassword !== null) {
    keys.push({ ...secrets.databasePassword, placeholder: 'REPLACE: the PostgreSQL password' });
  }
  if (secrets.redisPassword !== null) {
    keys.push({ ...secrets.redisPassword, placeholder: 'REPLACE: the Redis password' });
  }
  if (secrets.objectStoreSecretKey !== null) {
    keys.push({
      ...secrets.objectStoreSecretKey,
      placeholder: 'REPLACE: the S3 secret access key of objectStore.accessKeyId',
    });
  }
  if (values.monitoring.scrape === 'token') {
    keys.push({
      ...secrets.metricsToken,
      placeholder: 'REPLACE: a token allowed get:metrics (assistd tokens issue)',
    });
  }
  return keys;
}

/**
 * Secret skeletons (`secrets.createSkeletons`): each referenced Secret with placeholder values,
 * for an operator who keeps secrets in files rather than a secret manager. They hold no secret
 * material: the server refuses the placeholder master key, so one applied unedited fails at start
 * rather than running with a fake key.
 */
export function secretSkeletons(values: Values): RenderedObject[] {
  const byName = new Map<string, Record<string, string>>();
  for (const { name, key, placeholder } of referencedSecretKeys(values)) {
    const data = byName.get(name) ?? {};
    data[key] = placeholder;
    byName.set(name, data);
  }
  return [...byName].map(([name, stringData]) => {
    const manifest: ISecret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: metadata(values, name, 'config', {
        annotations: { 'assistd.dev/placeholder': 'replace every value before applying' },
      }),
      type: 'Opaque',
      stringData,
    };
    return {
      manifest,
      comment: ' SKELETON: placeholder values only. Replace every REPLACE value before applying.',
    };
  });
}
