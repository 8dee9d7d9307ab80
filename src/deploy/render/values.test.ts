import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  checkValues,
  defaultValuesYaml,
  parseValues,
  renderManifests,
  ValuesError,
} from './index.js';
import { packageVersion } from './package-version.js';

function renderError(input: unknown): string {
  try {
    renderManifests(checkValues(input, 'values.yaml'));
  } catch (error) {
    expect(error).toBeInstanceOf(ValuesError);
    return (error as Error).message;
  }
  throw new Error('rendered without an error');
}

describe('values', () => {
  it('names an unknown key with its path', () => {
    expect(renderError({ models: { sise: '200Gi' } })).toBe(
      'invalid values in values.yaml:\n  models.sise: unknown key',
    );
    expect(renderError({ replica: 3 })).toContain('  replica: unknown key');
  });

  it('refuses 0 replicas', () => {
    expect(renderError({ replicas: 0 })).toMatch(
      /^ {2}replicas: Too small: expected number to be >=1$/m,
    );
  });

  it('refuses a size that is not a Kubernetes quantity', () => {
    for (const size of ['200GB', '200 Gi', '-5Gi', '500m', '']) {
      expect(renderError({ models: { size } })).toMatch(
        /^ {2}models\.size: must be a size such as 200Gi/m,
      );
    }
    expect(renderError({ resources: { limits: { cpu: 'two', memory: '8Gi' } } })).toMatch(
      /^ {2}resources\.limits\.cpu: must be a CPU quantity/m,
    );
  });

  it('needs what a switched-on part depends on', () => {
    expect(renderError({ models: { mode: 'per-pod' } })).toMatch(
      /models\.snapshot: is required with models\.mode per-pod/,
    );
    expect(renderError({ ingress: { enabled: true } })).toMatch(
      /ingress\.host: ingress\.host is required/,
    );
    expect(renderError({ model: { endpoint: 'https://llm.example' } })).toMatch(
      /networkPolicy\.modelEndpoint: is required/,
    );
    expect(renderError({ replicas: 12 })).toMatch(
      /autoscaling\.maxReplicas: must be at least replicas \(12\)/,
    );
    expect(
      renderError({ networkPolicy: { redis: { cidr: '10.0.0.0/8', podLabels: { a: 'b' } } } }),
    ).toMatch(/networkPolicy\.redis: give either cidr or namespaceLabels\/podLabels/);
    expect(renderError({ backup: { schedule: 'daily' } })).toMatch(
      /backup\.schedule: must be a five-field cron/,
    );
  });

  it('checks extra config against the server config schema', () => {
    expect(renderError({ config: { limits: { requests_per_minute: 0 } } })).toMatch(
      /config\.limits\.requests_per_minute: Too small/,
    );
    expect(renderError({ config: { limts: {} } })).toMatch(/config\b.*limts/);
  });

  it('refuses extra config the renderer sets, instead of letting env override it unseen', () => {
    expect(renderError({ config: { data_dir: '/srv' } })).toMatch(
      /config\.data_dir: set by the renderer \(data_dir\)/,
    );
    expect(renderError({ config: { database: { url: 'postgres://x/y' } } })).toMatch(
      /config\.database\.url: set by the renderer/,
    );
    expect(renderError({ config: { shutdown_grace_seconds: 5 } })).toMatch(
      /config\.shutdown_grace_seconds: set by the renderer/,
    );
    expect(renderError({ config: { backup: { schedule: '0 1 * * *' } } })).toMatch(
      /config\.backup\.schedule: set by the renderer/,
    );
    expect(renderError({ config: { port: 8080 } })).toMatch(/config\.port: set by the renderer/);
  });

  it('checks policies as the server does', () => {
    expect(renderError({ policies: 'policies:\n  - name: x\n    effect: permit\n' })).toMatch(
      /^invalid values \(policies\): /,
    );
  });

  it('reads YAML and treats an empty file as the defaults', () => {
    expect(parseValues('', 'empty.yaml')).toEqual(checkValues({}));
    expect(() => parseValues('replicas: [', 'bad.yaml')).toThrow(/^bad\.yaml is not valid YAML/);
    expect(() => parseValues('- 1\n', 'list.yaml')).toThrow(
      'list.yaml must hold a mapping of values',
    );
  });

  it('prints a defaults file that is exactly the schema defaults', () => {
    const text = defaultValuesYaml();
    expect(parseValues(text, 'defaults')).toEqual(checkValues({}));
    // Every default key is written out, so the file shows what it sets.
    const written = parseYaml(text) as Record<string, unknown>;
    expect(Object.keys(written).sort()).toEqual(
      Object.keys(checkValues({}))
        .filter((k) => k !== 'policies')
        .sort(),
    );
    expect(text).toContain(`# tag: "${packageVersion()}"`);
  });
});
