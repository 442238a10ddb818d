/**
 * kek.vaultTransit (lib/keys/kek-vault.ts) against a Vault Transit server
 * written from the API reference (test/kms/vault-transit-server.ts), over
 * real HTTP on 127.0.0.1: round trip, the binding to associated data,
 * rotation, tampering, permission denied (never retried), throttling then
 * success, a sealed Vault (ERR_KEK_UNAVAILABLE), and a keyring that
 * reopens with the same Vault key; the token never appears in an error.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { startVault, type VaultFake } from './kms/vault-transit-server';
import { kekContract } from './kek.contract';
import { code } from './kek.helpers';
import { T } from './tessera';

let v: VaultFake;
beforeAll(async () => {
  v = await startVault('transit', ['tessera', 'other']);
});
afterAll(() => v?.close());

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-kek-vault-'));
const fast = { sleep: async () => undefined };

const kekOf = (extra: object = {}) => T.kek.vaultTransit({ endpoint: v.url, token: v.token, key: 'tessera', resilience: fast, ...extra });

describe('kek.vaultTransit', () => {
  test('round trip through the HTTP API; the id is the key URI; the stored form is Vault ciphertext', async () => {
    const k = kekOf();
    expect(k.id).toBe(`hcvault://${new URL(v.url).host}/transit/keys/tessera`);
    const dk = randomBytes(32);
    const w = await k.wrap(dk);
    expect(Buffer.from(w).toString()).toMatch(/^vault:v1:[A-Za-z0-9+/=]+$/);
    expect(Buffer.from(await k.unwrap(w)).equals(dk)).toBe(true);
    expect(v.requests.slice(-2)).toEqual(['/v1/transit/encrypt/tessera', '/v1/transit/decrypt/tessera']);
  });

  test('bound to its associated data: other associated data, an altered ciphertext or another key is ERR_AUTH', async () => {
    const w = await kekOf().wrap(randomBytes(32));
    expect((await code(kekOf({ associatedData: 'other' }).unwrap(w)))[0]).toBe('ERR_AUTH');
    const s = Buffer.from(w).toString();
    const raw = Buffer.from(s.slice('vault:v1:'.length), 'base64');
    raw[20]! ^= 1;
    expect((await code(kekOf().unwrap(Buffer.from(`vault:v1:${raw.toString('base64')}`))))[0]).toBe('ERR_AUTH');
    expect((await code(kekOf().unwrap(Buffer.from('not vault'))))[0]).toBe('ERR_FORMAT');
  });

  test('after a key rotation, new wraps use v2 and v1 wraps still unwrap', async () => {
    const k = kekOf();
    const dk = randomBytes(32);
    const old = await k.wrap(dk);
    v.rotate('tessera');
    expect(Buffer.from(await k.wrap(dk)).toString()).toMatch(/^vault:v2:/);
    expect(Buffer.from(await k.unwrap(old)).equals(dk)).toBe(true);
  });

  test('permission denied is ERR_KEK, sent once (never retried), and the token is in no message', async () => {
    const before = v.requests.length;
    const [c, m] = await code(T.kek.vaultTransit({ endpoint: v.url, token: 'hvs.wrong', key: 'tessera', resilience: fast }).wrap(randomBytes(32)));
    expect(c).toBe('ERR_KEK');
    expect(m).toMatch(/HTTP 403: permission denied/);
    expect(v.requests.length - before).toBe(1);
    const [, m2] = await code(kekOf({ key: 'missing' }).wrap(randomBytes(32)));
    expect(m2).not.toContain(v.token);
    expect(m2).toMatch(/HTTP 400/);
  });

  test('throttling and a sealed Vault are retried; a Vault that stays sealed is ERR_KEK_UNAVAILABLE', async () => {
    const dk = randomBytes(32);
    v.faults.push(429, 503);
    const before = v.requests.length;
    const w = await kekOf().wrap(dk);
    expect(v.requests.length - before).toBe(3);
    v.faults.push(503, 503, 503, 503);
    const [c, m] = await code(kekOf({ resilience: { ...fast, retries: 3 } }).unwrap(w));
    expect(c).toBe('ERR_KEK_UNAVAILABLE');
    expect(m).toContain('HTTP 503');
    expect(m).not.toContain(v.token);
    expect(v.faults).toEqual([]);
    const down = T.kek.vaultTransit({ endpoint: 'http://127.0.0.1:1', token: v.token, key: 'tessera', resilience: { ...fast, retries: 1 } });
    expect((await code(down.wrap(dk)))[0]).toBe('ERR_KEK_UNAVAILABLE');
  });

  test('a keyring created with the Vault KEK reopens with an equivalent provider', async () => {
    const file = path.join(dir, 'ring.json');
    const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: kekOf() });
    await ring.createPurpose('p');
    const msg = await ring.encrypt('p', Buffer.from('via vault'));
    await ring.close();
    expect(fs.readFileSync(file, 'utf8')).not.toContain(v.token);
    const again = await T.Keyring.open(new T.FileKeyStore(file), { kek: kekOf() });
    expect(Buffer.from(await again.decrypt(msg)).toString()).toBe('via vault');
    await again.close();
  });

  test('options are checked', () => {
    for (const o of [
      {},
      { endpoint: 'ftp://x', token: 't', key: 'k' },
      { endpoint: v.url, token: '', key: 'k' },
      { endpoint: v.url, token: 't', key: '../k' },
      { endpoint: 'nope', token: 't', key: 'k' },
    ])
      expect(() => T.kek.vaultTransit(o as Parameters<typeof T.kek.vaultTransit>[0])).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
  });
});

kekContract('Vault Transit', () => ({
  kek: ({ context, resilience } = {}) => kekOf({ ...(context && { associatedData: context }), ...(resilience && { resilience }) }),
  otherKey: () => kekOf({ key: 'other' }),
  disable: (on) => v.deny('tessera', on),
  failNext: (n) => v.faults.push(...Array<number>(n).fill(429)),
  clearFaults: () => {
    v.faults.length = 0;
  },
  requests: () => v.requests.length,
  tamper: (w) => {
    const s = Buffer.from(w).toString();
    const raw = Buffer.from(s.slice('vault:v1:'.length), 'base64');
    raw[raw.length - 1]! ^= 1;
    return Buffer.from(`vault:v1:${raw.toString('base64')}`);
  },
  uriOptions: () => ({ token: v.token, endpoint: v.url }),
  secrets: () => [v.token],
}));
