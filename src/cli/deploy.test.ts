import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { runCliCaptured } from '../../test/support/cli.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-cli-deploy-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
writeFileSync(join(folder, 'typo.yaml'), 'replicas: 3\nmodels:\n  sise: 200Gi\n');
writeFileSync(join(folder, 'zero.yaml'), 'replicas: 0\n');
writeFileSync(join(folder, 'size.yaml'), 'logs:\n  size: 50GB\n');
writeFileSync(
  join(folder, 'ingress.yaml'),
  'ingress:\n  enabled: true\n  host: chat.example.com\n  tlsSecretName: chat-tls\n',
);

const cli = (...args: string[]) => runCliCaptured(['deploy', ...args], { cwd: folder });

describe('assistd deploy render', () => {
  it('prints every object as one YAML stream', async () => {
    const result = await cli('render');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const kinds = parseAllDocuments(result.stdout).map((d) => (d.toJS() as { kind: string }).kind);
    expect(kinds).toEqual([
      'ConfigMap',
      'PersistentVolumeClaim',
      'PersistentVolumeClaim',
      'Service',
      'Deployment',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'CronJob',
      'ServiceMonitor',
      'PrometheusRule',
    ]);
  });

  it.each([
    ['typo.yaml', '  models.sise: unknown key'],
    ['zero.yaml', '  replicas: Too small: expected number to be >=1'],
    ['size.yaml', '  logs.size: must be a size such as 200Gi'],
    ['missing.yaml', `cannot read values file ${join(folder, 'missing.yaml')}: no such file`],
  ])('exits 2 naming the field for %s', async (file, message) => {
    const result = await cli('render', '--values', file);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
    expect(result.stderr).toMatch(/^assistd: /);
  });

  it('writes one file per object and a kustomization listing them all with --out', async () => {
    const out = join(folder, 'manifests');
    const result = await cli('render', '--values', 'ingress.yaml', '--out', 'manifests');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const files = readdirSync(out).sort();
    const kustomization = parseYaml(readFileSync(join(out, 'kustomization.yaml'), 'utf8')) as {
      kind: string;
      resources: string[];
    };
    expect(kustomization.kind).toBe('Kustomization');
    expect([...kustomization.resources, 'kustomization.yaml'].sort()).toEqual(files);
    expect(kustomization.resources).toHaveLength(12);
    expect(kustomization.resources[0]).toBe('01-configmap-assistd-config.yaml');
    expect(kustomization.resources).toContain('08-ingress-assistd.yaml');
    for (const name of kustomization.resources) {
      const object = parseYaml(readFileSync(join(out, name), 'utf8')) as {
        kind: string;
        metadata: { name: string };
      };
      expect(name).toMatch(
        new RegExp(`^\\d\\d-${object.kind.toLowerCase()}-${object.metadata.name}\\.yaml$`),
      );
    }
    expect(result.stderr).toBe(`wrote 13 files to ${out}\n`);

    writeFileSync(join(out, 'old.yaml'), 'x: 1\n');
    const again = await cli('render', '--out', 'manifests');
    expect(again.stderr).toContain('warning: old.yaml in');
    expect(again.stderr).toContain('warning: 12-prometheusrule-assistd.yaml in');
  });
});

describe('assistd deploy values', () => {
  it('prints the commented defaults, which render as they are', async () => {
    const result = await cli('values');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('# How replicas share the model volume');
    writeFileSync(join(folder, 'defaults.yaml'), result.stdout);
    const fromFile = await cli('render', '--values', 'defaults.yaml');
    const plain = await cli('render');
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toBe(plain.stdout);
  });
});
