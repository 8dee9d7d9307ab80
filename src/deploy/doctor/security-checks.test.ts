import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCertificate } from '../../../test/support/certificates.js';
import { testSealer } from '../../../test/support/sealer.js';
import { configSchema, type ConfigInput } from '../../config/schema.js';
import { openSecurity } from '../../security/index.js';
import { openStore } from '../../storage/open.js';
import type { Check } from './check.js';
import { signingKeysCheck } from './keys-check.js';
import { rulesChecks } from './rules-checks.js';
import { runChecks } from './runner.js';
import { masterKeyCheck } from './security-checks.js';
import { tlsCheck } from './tls-check.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-doctor-security-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const alpha = makeCertificate(folder, 'alpha');
const beta = makeCertificate(folder, 'beta');
const dayMs = 86_400_000;

const config = (input: ConfigInput) => configSchema.parse(input);
async function run(check: Check) {
  const [result] = await runChecks([check]);
  return result!;
}

describe('the TLS certificate check', () => {
  const tls = { cert_file: alpha.certFile, key_file: alpha.keyFile };

  it('handshakes TLS 1.3 on loopback and warns on a self-signed certificate expiring soon', async () => {
    const result = await run(tlsCheck(config({ tls })));
    expect(result.status).toBe('warn');
    expect(result.detail).toContain('handshake on loopback: TLSv1.3');
    expect(result.detail).toContain('self-signed');
    expect(result.detail).toContain('under 14 days left');
  });

  it('fails an expired, a not yet valid and a mismatched pair', async () => {
    const later = Date.now() + 3 * dayMs;
    expect(await run(tlsCheck(config({ tls }), () => later))).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('expired on'),
    });
    const earlier = Date.now() - 3 * dayMs;
    expect(await run(tlsCheck(config({ tls }), () => earlier))).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('is not valid before'),
    });
    const mismatched = { cert_file: alpha.certFile, key_file: beta.keyFile };
    expect(await run(tlsCheck(config({ tls: mismatched })))).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('does not belong to the certificate'),
    });
  });

  it('without a certificate, fails plain HTTP on a routable host unless a proxy terminates TLS', async () => {
    expect((await run(tlsCheck(config({})))).status).toBe('skip');
    expect(await run(tlsCheck(config({ host: '0.0.0.0' })))).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('refusing to serve plain HTTP'),
    });
    expect(
      await run(tlsCheck(config({ host: '0.0.0.0', tls: { terminated_by_proxy: true } }))),
    ).toMatchObject({ status: 'skip', detail: expect.stringContaining('proxy') });
  });
});

describe('the signing keys check', () => {
  it('warns "no key yet" for a data dir the server never used, and creates nothing', async () => {
    const dataDir = join(folder, 'fresh');
    const result = await run(signingKeysCheck(config({ data_dir: dataDir })));
    expect(result).toEqual(
      expect.objectContaining({
        status: 'warn',
        detail: 'no signing key yet: the server makes one on first start',
      }),
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  it('reads the active key and the days until rotation from SQLite, leaving the files as they were', async () => {
    const dataDir = join(folder, 'used');
    mkdirSync(dataDir);
    const settings = config({ data_dir: dataDir, security: { key_rotation_days: 30 } });
    const store = await openStore(settings);
    const security = await openSecurity({ config: settings, store, sealer: testSealer() });
    const key = await security.keyring.generate();
    await store.close();
    const files = readdirSync(dataDir).sort();

    const result = await run(signingKeysCheck(settings));
    expect(result.status).toBe('pass');
    expect(result.detail).toContain(`key ${key.kid.slice(0, 12)}…`);
    expect(result.detail).toMatch(/rotated in 29 days; key_rotation_days 30/);
    expect(readdirSync(dataDir).sort()).toEqual(files);

    const overdue = await run(signingKeysCheck(settings, () => Date.now() + 40 * dayMs));
    expect(overdue).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('rotation overdue by 10 days'),
    });
  });
});

describe('the master key check', () => {
  it('passes a 0600 key file, fails one others can read, skips when none exists yet', async () => {
    const path = join(folder, 'master.key');
    writeFileSync(path, `v1:${Buffer.alloc(32, 7).toString('base64')}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    const masterKeyFile = { security: { master_key_file: path } };
    expect(await run(masterKeyCheck(config(masterKeyFile)))).toMatchObject({
      status: 'pass',
      detail: `${path}: 1 key version, active v1, mode 0600`,
    });
    chmodSync(path, 0o644);
    expect(await run(masterKeyCheck(config(masterKeyFile)))).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('chmod 600'),
    });
    const dataDir = join(folder, 'no-master-key');
    expect((await run(masterKeyCheck(config({ data_dir: dataDir })))).status).toBe('skip');
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('the policy and alert rules checks', () => {
  it('fails a policy file with an error and passes a valid one', async () => {
    const bad = join(folder, 'bad-policies.yaml');
    writeFileSync(
      bad,
      'version: 1\nstatements:\n  - effect: allow\n    principals: ["*"]\n    actions: ["chat:create"]\n    resources: "/v1/*"\n    colour: blue\n',
    );
    const [badPolicy] = await runChecks(rulesChecks(config({ security: { policies_file: bad } })));
    expect(badPolicy).toMatchObject({ id: 'policy-file', status: 'fail' });
    expect(badPolicy!.detail).toContain(bad);

    const [defaults, alerts] = await runChecks(rulesChecks(config({})));
    expect(defaults!.status).toBe('skip');
    expect(alerts).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('notify nobody'),
    });
  });

  it('fails an alert rules file with an error', async () => {
    const rules = join(folder, 'rules.yaml');
    writeFileSync(rules, 'rules:\n  - name: broken\n    metric: no_such_metric\n');
    const [, result] = await runChecks(rulesChecks(config({ alerts: { rules_file: rules } })));
    expect(result).toMatchObject({
      id: 'alert-rules',
      status: 'fail',
      detail: expect.stringContaining(rules),
    });
  });
});
