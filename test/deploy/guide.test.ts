import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
} from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readMasterKeys } from '../../src/security/crypto/master-key-file.js';
import { repoRoot, run } from '../support/process.js';

// docs/deploy.md promises that its `sh` blocks were run as written on this machine: this runs
// them, in order, in one scratch folder, with `assistd` on the PATH as `npm link` would put it.
// `console` blocks need a cluster or a Docker engine and are not run.
const guide = readFileSync(join(repoRoot, 'docs/deploy.md'), 'utf8');
const blocks = [...guide.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);

describe('docs/deploy.md, sh blocks run as written', () => {
  const work = mkdtempSync(join(tmpdir(), 'assistd-guide-'));
  const results: { code: number | null; stdout: string; stderr: string }[] = [];
  beforeAll(async () => {
    const bin = join(work, '.bin');
    mkdirSync(bin);
    symlinkSync(join(repoRoot, 'dist/main.js'), join(bin, 'assistd'));
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    for (const block of blocks) {
      results.push(await run('bash', ['-euo', 'pipefail', '-c', block], { cwd: work, env }));
    }
  }, 120_000);

  it('has the blocks this test knows, and each exits 0', () => {
    expect(blocks.length).toBe(5);
    results.forEach((result, index) => {
      expect(result.code, `block ${index + 1}:\n${blocks[index]}\n${result.stderr}`).toBe(0);
    });
  });

  it('renders the manifests into k8s/ with a kustomization listing every file', () => {
    const files = readdirSync(join(work, 'k8s'));
    const kustomization = readFileSync(join(work, 'k8s/kustomization.yaml'), 'utf8');
    const manifests = files.filter((file) => file !== 'kustomization.yaml');
    expect(manifests.length).toBeGreaterThan(10);
    for (const file of manifests) expect(kustomization).toContain(file);
    expect(results[0]!.stdout).toContain('kustomization.yaml');
  });

  it('makes a master key file the server reads, readable by its owner only', async () => {
    const keys = await readMasterKeys(join(work, 'master.key'));
    expect(keys.active).toBe(1);
  });

  it('doctor passes on this machine and prints its table', () => {
    expect(results[2]!.stdout).toMatch(/pass/);
    expect(results[2]!.stdout).not.toMatch(/\bfail\b/);
  });

  it('exports the alert rules and the dashboard', () => {
    const [rules] = parseAllDocuments(readFileSync(join(work, 'assistd-rules.yaml'), 'utf8'));
    expect(rules!.toJSON()).toMatchObject({ kind: 'PrometheusRule' });
    const dashboard = JSON.parse(readFileSync(join(work, 'assistd-dashboard.json'), 'utf8')) as {
      panels: unknown[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(0);
  });

  it('makes every secret file the compose file mounts, with a valid certificate', () => {
    const secrets = join(work, 'deploy/compose/secrets');
    const compose = readFileSync(join(repoRoot, 'deploy/compose/compose.yaml'), 'utf8');
    const named = [...compose.matchAll(/file: \.\/secrets\/(\S+)/g)].map((match) => match[1]!);
    expect(named.length).toBe(7);
    for (const name of named) expect(existsSync(join(secrets, name)), name).toBe(true);
    const certificate = new X509Certificate(readFileSync(join(secrets, 'tls.crt')));
    expect(certificate.subject).toContain('CN=assistd.example.com');
  });
});
