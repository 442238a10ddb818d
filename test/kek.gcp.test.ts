/**
 * kek.gcpKms (lib/keys/kek-gcp.ts) through the official @google-cloud/kms
 * KeyManagementServiceClient on its REST transport, against a Cloud KMS
 * endpoint written from the REST reference (test/kms/gcp-kms-server.ts)
 * over real HTTP on 127.0.0.1. Two auth clients, because they give the
 * provider different error shapes:
 * - 'oauth2': google-auth-library's OAuth2Client holding an access token,
 *   what the client uses by default; its transport (gaxios) throws
 *   GaxiosErrors whose code and status are the HTTP status;
 * - 'fetch': a bare auth client over the global fetch; gax then decodes the
 *   google.rpc error into a GoogleError with the numeric gRPC code, the same
 *   shape the gRPC transport gives.
 * Covered: the KEK contract (test/kek.contract.ts) with each, the id and
 * the requests sent, the canonical context in additionalAuthenticatedData,
 * CRC-32C (RFC 3720 check values; corrupted requests and responses refused
 * as ERR_KEK, never returned), rotation, the status mapping, retries left
 * to kek.resilient alone, and option checks; no token in any message.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { type KekFixture, kekContract } from './kek.contract';
import { code } from './kek.helpers';
import { type GcpKmsFake, startGcpKms } from './kms/gcp-kms-server';
import { T, root } from './tessera';

const require = createRequire(import.meta.url);
const { crc32c } = require(path.join(root, 'dist/cjs/keys/crc32c.js')) as typeof import('../dist/cjs/keys/crc32c');
// google-auth-library is the client's own dependency (through google-gax): resolved from @google-cloud/kms.
const { OAuth2Client } = createRequire(require.resolve('@google-cloud/kms'))('google-auth-library') as {
  OAuth2Client: new () => { setCredentials(c: { access_token: string; expiry_date: number }): void };
};

let kms: GcpKmsFake;
beforeAll(async () => {
  kms = await startGcpKms(['tessera', 'other']);
});
afterAll(() => kms?.close());

type Auth = 'oauth2' | 'fetch';
type ClientOptions = NonNullable<ConstructorParameters<typeof KeyManagementServiceClient>[0]>;
const fast = { sleep: async () => undefined };
const WRONG = `ya29.${'w'.repeat(40)}`;

function authClient(auth: Auth, token: string): ClientOptions['authClient'] {
  if (auth === 'oauth2') {
    const c = new OAuth2Client();
    c.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
    return c as unknown as ClientOptions['authClient'];
  }
  // What gax's REST stub needs of an auth client (google-gax/build/src/fallback.js createStub, fallbackServiceStub.js).
  const bare = {
    getRequestHeaders: async () => new Headers({ authorization: `Bearer ${token}` }),
    fetch: (url: string, init: RequestInit) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(url, { ...init, headers });
    },
  };
  return bare as unknown as ClientOptions['authClient'];
}

const clientOf = (auth: Auth = 'oauth2', token = kms.token, port = kms.port) =>
  new KeyManagementServiceClient({ fallback: true, apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient: authClient(auth, token) });
type Opts = Parameters<typeof T.kek.gcpKms>[0];
const kekOf = (extra: Partial<Opts> = {}, auth: Auth = 'oauth2') =>
  T.kek.gcpKms({ client: clientOf(auth), keyName: kms.keyName('tessera'), resilience: fast, ...extra });
const since = (n: number) => kms.requests.slice(n);
const aadOf = (r: { body?: Record<string, unknown> }) => Buffer.from(String(r.body?.additionalAuthenticatedData), 'base64');

function fixture(auth: Auth): KekFixture {
  return {
    kek: (o = {}) =>
      kekOf({ ...(o.context !== undefined ? { context: { purpose: o.context } } : {}), resilience: (o.resilience ?? fast) as Opts['resilience'] }, auth),
    otherKey: () => kekOf({ keyName: kms.keyName('other') }, auth),
    disable: (on) => kms.disable('tessera', on),
    failNext: (n) => kms.faults.push(...Array.from({ length: n }, (_, i) => (i % 2 ? 503 : 429) as 429 | 503)),
    clearFaults: () => {
      kms.faults.length = 0;
    },
    requests: () => kms.requests.length,
    tamper: (w) => {
      const b = Uint8Array.from(w);
      b[b.length - 1]! ^= 1;
      return b;
    },
    uriOptions: () => ({ client: clientOf(auth) }),
    secrets: () => [kms.token, WRONG],
  };
}

kekContract('Google Cloud KMS', () => fixture('oauth2'));
kekContract('Google Cloud KMS (gax-decoded errors, the gRPC shape)', () => fixture('fetch'));

describe('kek.gcpKms', () => {
  test('the id is the key URI; a wrap is one Encrypt and an unwrap one Decrypt on the CryptoKey, with CRC-32C fields', async () => {
    const name = kms.keyName('tessera');
    const k = kekOf();
    expect(k.id).toBe(`gcp-kms://${name}`);
    const dk = randomBytes(32);
    const before = kms.requests.length;
    const w = await k.wrap(dk);
    expect(Buffer.from(await k.unwrap(w)).equals(dk)).toBe(true);
    const [enc, dec] = since(before);
    expect([enc, dec].map((r) => `${r!.method} ${r!.path}`)).toEqual([`POST /v1/${name}:encrypt`, `POST /v1/${name}:decrypt`]);
    expect(Object.keys(enc!.body!).sort()).toEqual(['additionalAuthenticatedData', 'additionalAuthenticatedDataCrc32c', 'plaintext', 'plaintextCrc32c']);
    expect(Object.keys(dec!.body!).sort()).toEqual(['additionalAuthenticatedData', 'additionalAuthenticatedDataCrc32c', 'ciphertext', 'ciphertextCrc32c']);
    // Int64Value travels as a decimal string in proto3 JSON.
    expect(enc!.body!.plaintextCrc32c).toBe(String(crc32c(dk)));
    expect(dec!.body!.ciphertextCrc32c).toBe(String(crc32c(w)));
    expect(enc!.body!.additionalAuthenticatedDataCrc32c).toBe(String(crc32c(aadOf(enc!))));
    expect(aadOf(dec!).equals(aadOf(enc!))).toBe(true);
    expect(aadOf(enc!).toString('latin1')).toContain('tessera-kek-v1');
  });

  test('data keys and wraps given as views into larger buffers go out as their own bytes', async () => {
    // The REST serializer encodes a plain Uint8Array view from the start of its ArrayBuffer; the provider must not let it.
    const dk = randomBytes(32);
    const big = new Uint8Array(96);
    big.set(dk, 40);
    const w = await kekOf().wrap(big.subarray(40, 72));
    const holder = new Uint8Array(w.length + 50);
    holder.set(w, 25);
    expect(Buffer.from(await kekOf().unwrap(holder.subarray(25, 25 + w.length))).equals(dk)).toBe(true);
  });

  test('CRC-32C matches the RFC 3720 appendix B.4 check values', () => {
    const pdu = Buffer.from(['01c00000000000000000000000000000', '14000000000004000000001400000018', '28000000000000000200000000000000'].join(''), 'hex');
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(pdu)).toBe(0xd9963a56); // the iSCSI Read (10) command PDU
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283); // the usual check value
  });

  test('the context is canonical AAD: key order does not matter, names and values cannot run into each other, extra entries count', async () => {
    const dk = randomBytes(32);
    const before = kms.requests.length;
    const w = await kekOf({ context: { tenant: 'a', app: 'b' } }).wrap(dk);
    expect(Buffer.from(await kekOf({ context: { app: 'b', tenant: 'a' } }).unwrap(w)).equals(dk)).toBe(true);
    const [enc, dec] = since(before);
    expect(aadOf(dec!).equals(aadOf(enc!))).toBe(true);
    for (const context of [{ tenant: 'ab' }, { tenanta: '', app: 'b' }, { tenant: 'a', app: 'b', x: '' }, { tenant: 'a' }] as Record<string, string>[])
      expect((await code(kekOf({ context }).unwrap(w)))[0]).toBe('ERR_AUTH');
    const w2 = await kekOf({ context: { ab: 'c' } }).wrap(dk);
    expect((await code(kekOf({ context: { a: 'bc' } }).unwrap(w2)))[0]).toBe('ERR_AUTH');
    // The default is { purpose: 'tessera-kek-v1' }.
    const w3 = await kekOf().wrap(dk);
    expect(Buffer.from(await kekOf({ context: { purpose: 'tessera-kek-v1' } }).unwrap(w3)).equals(dk)).toBe(true);
  });

  test('a corrupted response (ciphertext, plaintext, unconfirmed checksum, another key’s name) is ERR_KEK after one request; no bytes come back', async () => {
    const dk = randomBytes(32);
    const w = await kekOf().wrap(dk);
    const cases = [
      ['response', () => kekOf().wrap(dk), /ciphertext checksum mismatch/],
      ['unverified', () => kekOf().wrap(dk), /did not confirm the request checksums/],
      ['name', () => kekOf().wrap(dk), /names another key/],
      ['response', () => kekOf().unwrap(w), /plaintext checksum mismatch/],
    ] as const;
    for (const [corruption, op, why] of cases) {
      kms.corrupt.push(corruption);
      const before = kms.requests.length;
      const [c, m] = await code(op());
      expect([corruption, c, m]).toEqual([corruption, 'ERR_KEK', expect.stringMatching(why)]);
      expect(m).toMatch(/integrity check failed/);
      expect(kms.requests.length - before).toBe(1);
    }
    expect(kms.corrupt).toEqual([]);
    expect(Buffer.from(await kekOf().unwrap(w)).equals(dk)).toBe(true);
  });

  test('after a rotation new wraps use the new primary version and older wraps still unwrap', async () => {
    const k = kekOf();
    const dk = randomBytes(32);
    const old = await k.wrap(dk);
    const oldVersion = Buffer.from(old).readUInt32BE(1); // the fake's layout: 1 | u32 version | ...
    const v = kms.rotate('tessera');
    expect(v).toBe(oldVersion + 1);
    const fresh = await k.wrap(dk);
    expect(Buffer.from(fresh).readUInt32BE(1)).toBe(v);
    expect(Buffer.from(await k.unwrap(old)).equals(dk)).toBe(true);
    expect(Buffer.from(await k.unwrap(fresh)).equals(dk)).toBe(true);
    // Disabling the new primary leaves the older version usable.
    kms.disable('tessera');
    try {
      expect(Buffer.from(await k.unwrap(old)).equals(dk)).toBe(true);
      expect((await code(k.unwrap(fresh)))[0]).toBe('ERR_KEK');
    } finally {
      kms.disable('tessera', false);
    }
  });

  test('options are checked (ERR_ARGUMENT), and so are the inputs, before any request', () => {
    const client = clientOf();
    const name = kms.keyName('tessera');
    const bad: unknown[] = [
      undefined,
      null,
      {},
      { client: {}, keyName: name },
      { client: { encrypt: () => undefined }, keyName: name },
      { client, keyName: '' },
      { client, keyName: `${name}/cryptoKeyVersions/1` },
      { client, keyName: name.replace(/\/cryptoKeys\/.*/, '') },
      { client, keyName: `${name}/` },
      { client, keyName: `gcp-kms://${name}` },
      { client, keyName: name.replace('tessera-ring', 'ring/../x') },
      { client, keyName: name, context: { a: 1 } },
      { client, keyName: name, context: { '': 'x' } },
      { client, keyName: name, context: ['x'] },
      { client, keyName: name, context: { a: '\ud800' } },
      { client, keyName: name, context: { a: 'x'.repeat(70_000) } },
      { client, keyName: name, resilience: { retries: -1 } },
    ];
    for (const o of bad) expect(() => T.kek.gcpKms(o as Opts)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
    expect(() => T.kek.gcpKms({ client, keyName: `${name}/cryptoKeyVersions/1` })).toThrow(/not a version/);
  });

  test('an empty data key or wrap is refused locally', async () => {
    const before = kms.requests.length;
    expect((await code(kekOf().wrap(new Uint8Array(0))))[0]).toBe('ERR_ARGUMENT');
    expect((await code(kekOf().unwrap(new Uint8Array(0))))[0]).toBe('ERR_FORMAT');
    expect((await code(kekOf().unwrap(new Uint8Array(65537))))[0]).toBe('ERR_FORMAT');
    expect(kms.requests.length).toBe(before);
  });
});

describe.each(['oauth2', 'fetch'] as const)('kek.gcpKms status mapping, %s auth client', (auth) => {
  const kekA = (extra: Partial<Opts> = {}) => kekOf(extra, auth);
  const noToken = (m: string) => {
    expect(m).not.toContain(kms.token);
    expect(m).not.toContain(WRONG);
  };

  test('a disabled primary version is ERR_KEK (FAILED_PRECONDITION) for wrap and unwrap, one request each', async () => {
    const w = await kekA().wrap(randomBytes(32));
    kms.disable('tessera');
    try {
      for (const op of [() => kekA().wrap(randomBytes(32)), () => kekA().unwrap(w)]) {
        const before = kms.requests.length;
        const [c, m] = await code(op());
        expect([c, m]).toEqual(['ERR_KEK', expect.stringContaining('FAILED_PRECONDITION')]);
        expect(m).toContain(kms.keyName('tessera'));
        expect(kms.requests.length - before).toBe(1);
      }
    } finally {
      kms.disable('tessera', false);
    }
  });

  test('permission denied and an unknown key are ERR_KEK (PERMISSION_DENIED), never retried', async () => {
    kms.deny('tessera');
    try {
      const before = kms.requests.length;
      const [c, m] = await code(kekA().wrap(randomBytes(32)));
      expect([c, m]).toEqual(['ERR_KEK', expect.stringContaining('PERMISSION_DENIED')]);
      expect(kms.requests.length - before).toBe(1);
    } finally {
      kms.deny('tessera', false);
    }
    const [c, m] = await code(kekA({ keyName: kms.keyName('missing') }).unwrap(randomBytes(64)));
    expect([c, m]).toEqual(['ERR_KEK', expect.stringContaining('PERMISSION_DENIED')]);
  });

  test('a refused token is ERR_KEK (UNAUTHENTICATED), sent once; no token in any message', async () => {
    const before = kms.requests.length;
    const k = T.kek.gcpKms({ client: clientOf(auth, WRONG), keyName: kms.keyName('tessera'), resilience: fast });
    const [c, m] = await code(k.wrap(randomBytes(32)));
    expect([c, m]).toEqual(['ERR_KEK', expect.stringContaining('UNAUTHENTICATED')]);
    expect(kms.requests.length - before).toBe(1);
    noToken(m);
    const [c2, m2] = await code(k.unwrap(randomBytes(64)));
    expect(c2).toBe('ERR_KEK');
    noToken(m2);
  });

  test('a request corrupted on its way is ERR_KEK (KMS refuses its checksum), not ERR_AUTH', async () => {
    const dk = randomBytes(32);
    const w = await kekA().wrap(dk);
    for (const op of [() => kekA().wrap(dk), () => kekA().unwrap(w)]) {
      kms.corrupt.push('request');
      const before = kms.requests.length;
      const [c, m] = await code(op());
      expect([c, m]).toEqual(['ERR_KEK', expect.stringMatching(/INVALID_ARGUMENT: the request was corrupted in transit/)]);
      expect(kms.requests.length - before).toBe(1);
    }
    expect(Buffer.from(await kekA().unwrap(w)).equals(dk)).toBe(true);
  });

  test('throttling and unavailability are retried by kek.resilient alone: the client never retries on its own', async () => {
    const dk = randomBytes(32);
    kms.faults.push(429, 503);
    let before = kms.requests.length;
    const w = await kekA().wrap(dk);
    expect(kms.requests.length - before).toBe(3);
    kms.faults.push(503);
    before = kms.requests.length;
    const [c, m] = await code(kekA({ resilience: { ...fast, retries: 0 } }).unwrap(w));
    expect([c, m]).toEqual(['ERR_KEK_UNAVAILABLE', expect.stringContaining('UNAVAILABLE, HTTP 503')]);
    expect(kms.requests.length - before).toBe(1); // gax's default config would have retried UNAVAILABLE
    kms.faults.push(429, 429, 429);
    before = kms.requests.length;
    const [c2, m2] = await code(kekA({ resilience: { ...fast, retries: 2 } }).wrap(dk));
    expect([c2, m2]).toEqual(['ERR_KEK_UNAVAILABLE', expect.stringContaining('RESOURCE_EXHAUSTED, HTTP 429')]);
    expect(kms.requests.length - before).toBe(3);
    expect(kms.faults).toEqual([]);
  });

  test('an unreachable endpoint is ERR_KEK_UNAVAILABLE (a network failure, retried)', async () => {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    const k = T.kek.gcpKms({ client: clientOf(auth, kms.token, port), keyName: kms.keyName('tessera'), resilience: { ...fast, retries: 1 } });
    const [c, m] = await code(k.wrap(randomBytes(32)));
    expect([c, m]).toEqual(['ERR_KEK_UNAVAILABLE', expect.stringContaining('ECONNREFUSED')]);
    expect(m).toContain('2 attempts');
  });
});
