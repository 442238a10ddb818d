/**
 * kek.azureKeyVault (lib/keys/kek-azure.ts) through the official
 * @azure/keyvault-keys CryptographyClient and a TokenCredential written
 * here, against a Key Vault endpoint written from the REST reference
 * (test/kms/azure-keyvault-server.ts) over real HTTPS on 127.0.0.1: the
 * shared KEK contract (test/kek.contract.ts) for an RSA key (RSA-OAEP-256)
 * and a Managed HSM AES key (A256KW), then what is particular to Azure: the
 * requests the SDK sends (challenge, key read, wrapkey / unwrapkey), the
 * envelope and its context binding, key versions, credentials that never
 * reach a message, and options checking.
 *
 * Every client trusts the fake's self-signed certificate through its own
 * tlsOptions, and passes disableChallengeResourceVerification: the SDK sends
 * a token only to a host under the challenge's resource domain
 * (*.vault.azure.net, *.managedhsm.azure.net), which 127.0.0.1 is not.
 */
import { randomBytes } from 'node:crypto';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { CryptographyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { type KekFixture, kekContract } from './kek.contract';
import { code } from './kek.helpers';
import { type KeyVaultFake, startKeyVault } from './kms/azure-keyvault-server';
import { T } from './tessera';

let kv: KeyVaultFake; // a key vault: RSA keys
let hsm: KeyVaultFake; // a Managed HSM: AES keys
beforeAll(async () => {
  [kv, hsm] = await Promise.all([startKeyVault(), startKeyVault({ resource: 'https://managedhsm.azure.net' })]);
  kv.createKey('tessera', 'RSA');
  kv.createKey('other', 'RSA');
  hsm.createKey('tessera', 'oct-HSM');
  hsm.createKey('other', 'oct-HSM');
});
afterAll(async () => {
  await kv?.close();
  await hsm?.close();
});

const fast = { sleep: async () => undefined };

/** A TokenCredential as @azure/identity's credentials are: hands out a token, and records what it was asked for. */
class TestCredential implements TokenCredential {
  readonly calls: { scopes: string[]; tenantId: string | undefined }[] = [];
  constructor(private readonly tokenOf: () => string | null) {}
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.calls.push({ scopes: [scopes].flat(), tenantId: options?.tenantId });
    const token = this.tokenOf();
    return token === null ? null : { token, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

const credentialOf = (vault: KeyVaultFake) => new TestCredential(() => vault.token);
const clientOf = (vault: KeyVaultFake, keyId: string, credential: TokenCredential = credentialOf(vault)) =>
  new CryptographyClient(keyId, credential, {
    tlsOptions: { ca: vault.ca },
    retryOptions: { maxRetries: 0 }, // retries are kek.resilient's
    disableChallengeResourceVerification: true, // see the top comment
  });
type Opts = Partial<Parameters<typeof T.kek.azureKeyVault>[0]>;
const kekOf = (vault: KeyVaultFake, name: string, extra: Opts = {}) =>
  T.kek.azureKeyVault({ client: clientOf(vault, vault.keyId(name)), resilience: fast, ...extra });
const versionOf = (keyId: string) => keyId.split('/').at(-1)!;

function fixture(vault: () => KeyVaultFake, extra: Opts): KekFixture {
  return {
    kek: (o = {}) => kekOf(vault(), 'tessera', { ...extra, context: o.context === undefined ? undefined : { purpose: o.context }, resilience: o.resilience }),
    otherKey: () => kekOf(vault(), 'other', extra),
    disable: (on) => vault().disable('tessera', on),
    failNext: (n) => vault().faults.push(...Array.from({ length: n }, (_, i) => (i % 2 ? 503 : 429))),
    clearFaults: () => {
      vault().faults.length = 0;
    },
    requests: () => vault().keyOperations(),
    tamper: (w) => {
      const b = Uint8Array.from(w);
      b[b.length - 1]! ^= 1; // in Key Vault's wrapped bytes
      return b;
    },
    uriOptions: () => ({ client: clientOf(vault(), vault().keyId('tessera')) }),
    secrets: () => [vault().token],
  };
}

kekContract('Azure Key Vault (RSA-OAEP-256)', () => fixture(() => kv, {}));
kekContract('Azure Managed HSM (A256KW)', () => fixture(() => hsm, { algorithm: 'A256KW' }));

describe('kek.azureKeyVault (official CryptographyClient, Key Vault REST over HTTPS)', () => {
  test('the id is the versioned key URI; the SDK answers the challenge, reads the key, then sends wrapkey / unwrapkey', async () => {
    const cred = credentialOf(kv);
    const keyId = kv.keyId('tessera');
    const version = versionOf(keyId);
    const k = T.kek.azureKeyVault({ client: clientOf(kv, keyId, cred), resilience: fast });
    expect(k.id).toBe(`azure-kv://${new URL(kv.url).host}/keys/tessera/${version}`);
    const before = kv.log.length;
    const dk = randomBytes(32);
    const w = await k.wrap(dk);
    expect(Buffer.from(await k.unwrap(w)).equals(dk)).toBe(true);
    const p = `/keys/tessera/${version}`;
    expect(kv.log.slice(before).map((r) => [r.method, r.path, r.status, r.authorized])).toEqual([
      ['GET', p, 401, false], // no token yet: the challenge
      ['GET', p, 200, true],
      ['POST', `${p}/wrapkey`, 200, true],
      ['POST', `${p}/unwrapkey`, 200, true],
    ]);
    expect(kv.log.slice(-2).map((r) => r.alg)).toEqual(['RSA-OAEP-256', 'RSA-OAEP-256']);
    expect(kv.log.at(-2)!.bytes).toBe(32 + 32); // the data key and its 32-byte binding
    expect(cred.calls).toEqual([{ scopes: ['https://vault.azure.net/.default'], tenantId: kv.tenant }]);
    // The envelope: 0xA1 | algorithm 1 | version length | version | the RSA-2048 wrap.
    expect([...w.subarray(0, 3)]).toEqual([0xa1, 1, version.length]);
    expect(Buffer.from(w.subarray(3, 3 + version.length)).toString()).toBe(version);
    expect(w.length).toBe(3 + version.length + 256);
  });

  test('Managed HSM: A256KW as given; data keys of whole 8-byte blocks only; unwrap follows the envelope', async () => {
    const cred = credentialOf(hsm);
    const k = T.kek.azureKeyVault({ client: clientOf(hsm, hsm.keyId('tessera'), cred), algorithm: 'A256KW', resilience: fast });
    const dk = randomBytes(32);
    const w = await k.wrap(dk);
    expect(hsm.log.at(-1)!.alg).toBe('A256KW');
    expect(hsm.log.at(-1)!.bytes).toBe(64);
    expect(w[1]).toBe(2);
    expect(w.length).toBe(3 + 32 + 64 + 8); // RFC 3394 adds one block
    expect(cred.calls[0]).toEqual({ scopes: ['https://managedhsm.azure.net/.default'], tenantId: hsm.tenant });
    // A provider made without the algorithm (as kek.fromUri makes it) unwraps what the envelope names.
    const plain = kekOf(hsm, 'tessera');
    expect(Buffer.from(await plain.unwrap(w)).equals(dk)).toBe(true);
    expect(hsm.log.at(-1)!.alg).toBe('A256KW');

    const before = hsm.keyOperations();
    expect((await code(k.wrap(randomBytes(20))))[0]).toBe('ERR_ARGUMENT');
    expect(hsm.keyOperations()).toBe(before);
    // Its new wraps are RSA-OAEP-256, which an AES key refuses: a client error.
    const [c, m] = await code(plain.wrap(dk));
    expect([c, m]).toEqual(['ERR_KEK', expect.stringContaining('HTTP 400 BadParameter')]);
    expect(hsm.log.at(-1)!.alg).toBe('RSA-OAEP-256');
    // The envelope's algorithm byte switched: refused before a request when the algorithm is given, by Key Vault otherwise.
    const switched = Uint8Array.from(w);
    switched[1] = 1;
    const ops = hsm.keyOperations();
    expect(await code(k.unwrap(switched))).toEqual(['ERR_AUTH', expect.stringContaining('RSA-OAEP-256')]);
    expect(hsm.keyOperations()).toBe(ops);
    expect((await code(plain.unwrap(switched)))[0]).toBe('ERR_AUTH');
    expect(hsm.log.at(-1)!.status).toBe(400);
  });

  test('the context binding: Key Vault opens the wrap and tessera refuses it; the binding ignores the order of names', async () => {
    const dk = randomBytes(32);
    const w = await kekOf(kv, 'tessera').wrap(dk);
    const before = kv.keyOperations();
    const [c, m] = await code(kekOf(kv, 'tessera', { context: { purpose: 'other' } }).unwrap(w));
    expect([c, m]).toEqual(['ERR_AUTH', expect.stringContaining('another context')]);
    expect(kv.keyOperations() - before).toBe(1);
    expect(kv.log.at(-1)!.status).toBe(200); // the vault unwrapped; the binding did not match
    const two = await kekOf(kv, 'tessera', { context: { tenant: 't1', purpose: 'p' } }).wrap(dk);
    expect(Buffer.from(await kekOf(kv, 'tessera', { context: { purpose: 'p', tenant: 't1' } }).unwrap(two)).equals(dk)).toBe(true);
    expect((await code(kekOf(kv, 'tessera', { context: { purpose: 'p', tenant: 't2' } }).unwrap(two)))[0]).toBe('ERR_AUTH');
  });

  test('an envelope that is not one is ERR_FORMAT, before any request', async () => {
    const w = await kekOf(kv, 'tessera').wrap(randomBytes(32));
    const k = kekOf(kv, 'tessera');
    const before = kv.log.length;
    const magic = Uint8Array.from(w);
    magic[0] = 0xa2;
    const alg = Uint8Array.from(w);
    alg[1] = 9;
    for (const bad of [new Uint8Array(0), w.subarray(0, 35), magic, alg, Buffer.from('vault:v1:abcd')])
      expect((await code(k.unwrap(bad)))[0]).toBe('ERR_FORMAT');
    expect((await code(k.unwrap('x' as never)))[0]).toBe('ERR_ARGUMENT');
    for (const bad of [new Uint8Array(0), 'x', randomBytes(513)]) expect((await code(k.wrap(bad as never)))[0]).toBe('ERR_ARGUMENT');
    expect(kv.log.length).toBe(before);
  });

  test('key versions: a new version is a new KEK; each version still unwraps its own wraps; versionless clients are refused', async () => {
    kv.createKey('rotating', 'RSA');
    const v1 = kv.keyId('rotating');
    const dk = randomBytes(32);
    const w1 = await T.kek.azureKeyVault({ client: clientOf(kv, v1), resilience: fast }).wrap(dk);
    const v2 = kv.rotate('rotating');
    const k2 = T.kek.azureKeyVault({ client: clientOf(kv, v2), resilience: fast });
    expect(k2.id).toBe(`azure-kv://${new URL(kv.url).host}/keys/rotating/${versionOf(v2)}`);
    const w2 = await k2.wrap(dk);
    expect(Buffer.from(w2.subarray(3, 35)).toString()).toBe(versionOf(v2));
    const before = kv.log.length;
    const [c, m] = await code(k2.unwrap(w1));
    expect(c).toBe('ERR_AUTH');
    expect(m).toContain(versionOf(v1)); // names the version it needs
    expect(kv.log.length).toBe(before);
    expect(Buffer.from(await T.kek.azureKeyVault({ client: clientOf(kv, v1), resilience: fast }).unwrap(w1)).equals(dk)).toBe(true);
    expect(Buffer.from(await k2.unwrap(w2)).equals(dk)).toBe(true);
    expect(kv.log.filter((r) => r.path === `/keys/rotating/${versionOf(v1)}/unwrapkey`).length).toBe(1);

    // Versionless: Key Vault would use the newest version for every call.
    const bare = `${kv.url}/keys/rotating`;
    expect(() => T.kek.azureKeyVault({ client: clientOf(kv, bare) })).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('version') }),
    );
    // Once such a client has read the key its keyID carries a version, but its calls still go to the newest one.
    const used = clientOf(kv, bare);
    await used.wrapKey('RSA-OAEP-256', randomBytes(32));
    expect(used.keyID).toBe(v2);
    expect(() => T.kek.azureKeyVault({ client: used })).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('versionless') }),
    );
  });

  test('no token and a wrong token are ERR_KEK, never retried, and no token appears in a message', async () => {
    const keyId = kv.keyId('tessera');
    const dk = randomBytes(32);
    let before = kv.log.length;
    const [c1, m1] = await code(T.kek.azureKeyVault({ client: clientOf(kv, keyId, new TestCredential(() => null)), resilience: fast }).wrap(dk));
    expect([c1, m1]).toEqual(['ERR_KEK', expect.stringContaining('the client failed before Key Vault answered')]);
    expect(kv.log.slice(before).map((r) => [r.status, r.authorized])).toEqual([[401, false]]); // the credential gave nothing to send

    const wrong = `eyJ0.${randomBytes(24).toString('base64url')}`;
    before = kv.log.length;
    const w = await kekOf(kv, 'tessera').wrap(dk);
    const results = [
      await code(T.kek.azureKeyVault({ client: clientOf(kv, keyId, new TestCredential(() => wrong)), resilience: fast }).wrap(dk)),
      await code(T.kek.azureKeyVault({ client: clientOf(kv, keyId, new TestCredential(() => wrong)), resilience: fast }).unwrap(w)),
    ];
    for (const [c, m] of results) {
      expect([c, m]).toEqual(['ERR_KEK', expect.stringContaining('HTTP 401 Unauthorized')]);
      expect(m).not.toContain(wrong);
      expect(m).not.toContain(kv.token);
    }
    for (const m of [m1, ...results.map(([, x]) => x)]) expect(m).toContain(`azure-kv://${new URL(kv.url).host}/keys/tessera/`);
    // Per call: the challenge, then the wrong token once; no wrapkey / unwrapkey reached the vault with it.
    expect(
      kv.log
        .slice(before)
        .filter((r) => !r.authorized)
        .map((r) => [r.method, r.status]),
    ).toEqual([
      ['GET', 401],
      ['GET', 401],
      ['GET', 401],
      ['GET', 401],
      ['GET', 401],
    ]);
  });

  test('a disabled or unknown key is ERR_KEK naming the Key Vault error, sent once', async () => {
    const w = await kekOf(kv, 'tessera').wrap(randomBytes(32));
    kv.disable('tessera');
    try {
      for (const p of [kekOf(kv, 'tessera').wrap(randomBytes(32)), kekOf(kv, 'tessera').unwrap(w)]) {
        const before = kv.keyOperations();
        expect(await code(p)).toEqual(['ERR_KEK', expect.stringContaining('HTTP 403 Forbidden KeyDisabled')]);
        expect(kv.keyOperations() - before).toBe(1);
      }
    } finally {
      kv.disable('tessera', false);
    }
    const before = kv.log.length;
    const missing = T.kek.azureKeyVault({ client: clientOf(kv, `${kv.url}/keys/missing/${'0'.repeat(32)}`), resilience: fast });
    expect(missing.id).toBe(`azure-kv://${new URL(kv.url).host}/keys/missing/${'0'.repeat(32)}`);
    expect(await code(missing.wrap(randomBytes(32)))).toEqual(['ERR_KEK', expect.stringContaining('HTTP 404 KeyNotFound')]);
    expect(kv.log.slice(before).map((r) => r.status)).toEqual([401, 404]);
  });

  test('throttling (429) and 503 are retried; a vault that stays down is ERR_KEK_UNAVAILABLE', async () => {
    const dk = randomBytes(32);
    kv.faults.push(429, 503);
    let before = kv.keyOperations();
    const w = await kekOf(kv, 'tessera').wrap(dk);
    expect(kv.keyOperations() - before).toBe(3);
    expect(kv.log.slice(-3).map((r) => r.status)).toEqual([429, 503, 200]);

    kv.faults.push(503, 503, 503);
    before = kv.keyOperations();
    const [c, m] = await code(kekOf(kv, 'tessera', { resilience: { ...fast, retries: 2 } }).unwrap(w));
    expect([c, m]).toEqual(['ERR_KEK_UNAVAILABLE', expect.stringContaining('HTTP 503')]);
    expect(m).not.toContain(kv.token);
    expect(kv.keyOperations() - before).toBe(3);
    expect(kv.faults).toEqual([]);

    const down = T.kek.azureKeyVault({ client: clientOf(kv, `https://127.0.0.1:1/keys/tessera/${'0'.repeat(32)}`), resilience: { ...fast, retries: 1 } });
    expect(await code(down.wrap(dk))).toEqual(['ERR_KEK_UNAVAILABLE', expect.stringContaining('ECONNREFUSED')]);
  });

  test('options are checked', () => {
    const good = clientOf(kv, kv.keyId('tessera'));
    const bad: unknown[] = [
      null,
      {},
      { client: {} },
      { client: 'https://x.vault.azure.net/keys/k/0123' },
      { client: clientOf(kv, `http://x.vault.azure.net/keys/k/${'0'.repeat(32)}`) },
      { client: clientOf(kv, `https://x.vault.azure.net/secrets/k/${'0'.repeat(32)}`) },
      { client: clientOf(kv, `https://x.vault.azure.net/keys/k_1/${'0'.repeat(32)}`) },
      { client: new CryptographyClient({ kty: 'RSA', kid: kv.keyId('tessera'), n: new Uint8Array(256).fill(1), e: new Uint8Array([1, 0, 1]) }) },
      { client: good, algorithm: 'RSA1_5' },
      { client: good, context: { a: 1 } },
      { client: good, context: 'purpose' },
      { client: good, context: { '': 'x' } },
      { client: good, resilience: { retries: -1 } },
    ];
    for (const o of bad)
      expect(() => T.kek.azureKeyVault(o as never), JSON.stringify(o)?.slice(0, 80)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
    expect(T.kek.azureKeyVault({ client: good, algorithm: 'RSA-OAEP-256', context: { a: 'b' } }).id).toMatch(
      /^azure-kv:\/\/127\.0\.0\.1:\d+\/keys\/tessera\/[0-9a-f]{32}$/,
    );
  });
});
