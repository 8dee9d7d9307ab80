import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testSealer } from '../../test/support/sealer.js';
import { openSqliteStore } from '../storage/sqlite/store.js';
import type { SigningKeyRecord, Store } from '../storage/types.js';
import { Keyring, provenSigningKeys } from './keyring.js';

let store: Store;
const sealer = testSealer();
const day = 86_400_000;

beforeEach(() => {
  store = openSqliteStore({ path: ':memory:' });
});
afterEach(async () => {
  await store.close();
});

const keyring = () =>
  new Keyring({ store: store.signingKeys, sealer, rotationMs: 90 * day, maxTokenTtlMs: 90 * day });

function pair() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

const row = (kid: string, fields: Partial<SigningKeyRecord>): SigningKeyRecord => ({
  kid,
  publicKeyPem: pair().publicPem,
  privateKeySealed: undefined,
  source: 'generated',
  createdAt: 1,
  signsUntil: undefined,
  verifiesUntil: undefined,
  retiredAt: undefined,
  ...fields,
});

describe('provenSigningKeys', () => {
  it("takes this server's keys, retired ones too, and no row written without the master key", async () => {
    const ring = keyring();
    await ring.ensureCurrent();
    const first = ring.activeKid()!;
    await ring.rotate();
    await ring.retire(first);
    const second = ring.activeKid()!;

    // An external issuer's key, imported.
    await store.signingKeys.insert(row('idp', { source: 'imported' }));
    // Written straight into the database (no master key): a "generated" key with no sealed
    // private key, one sealed by another master key, one that copies a real row's sealed key
    // (bound to that row's kid), and one whose public key is not its private key's.
    const stranger = testSealer();
    const own = pair();
    const realSealed = (await store.signingKeys.list()).find((key) => key.kid === second)!;
    await store.signingKeys.insert(row('no-private-key', {}));
    await store.signingKeys.insert(
      row('other-master', {
        publicKeyPem: own.publicPem,
        privateKeySealed: stranger.seal(own.privatePem, 'signing_keys:other-master'),
      }),
    );
    await store.signingKeys.insert(
      row('copied', {
        publicKeyPem: realSealed.publicKeyPem,
        privateKeySealed: realSealed.privateKeySealed!,
      }),
    );
    await store.signingKeys.insert(
      row('swapped-public', {
        privateKeySealed: sealer.seal(own.privatePem, 'signing_keys:swapped-public'),
      }),
    );

    const proven = await provenSigningKeys(store.signingKeys, sealer);
    expect([...proven.keys.keys()].sort()).toEqual([first, second].sort());
    expect([...(await ring.provenKeys()).keys.keys()].sort()).toEqual([first, second].sort());
    // When each signed: the first until it was rotated out, the second until its rotation is due.
    const listed = await store.signingKeys.list();
    const stored = (kid: string) => listed.find((key) => key.kid === kid)!;
    expect(proven.periods.get(first)).toEqual({
      from: stored(first).createdAt,
      until: Math.min(stored(first).signsUntil!, stored(first).retiredAt!),
    });
    expect(proven.periods.get(second)).toEqual({
      from: stored(second).createdAt,
      until: stored(second).signsUntil,
    });
  });

  it('leaves a row whose public key does not parse out of the keyring, and names it', async () => {
    const ring = keyring();
    await ring.ensureCurrent();
    await store.signingKeys.insert(
      row('damaged', { publicKeyPem: 'not a key', source: 'imported' }),
    );
    await ring.load();
    expect(ring.list()).toHaveLength(1);
    expect(ring.unusable).toEqual([
      { kid: 'damaged', reason: expect.stringMatching(/^its public key does not parse/) as string },
    ]);
    // Signing still works.
    expect((await ring.signingKey()).kid).toBe(ring.activeKid());
  });
});
