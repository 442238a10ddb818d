/**
 * kek.awsKms (lib/keys/kek-aws.ts) through the official @aws-sdk/client-kms
 * KMSClient, against a KMS endpoint written from the API reference
 * (test/kms/aws-kms-server.ts) over real HTTP on 127.0.0.1: round trip, the
 * encryption context binding, another key, a disabled key, bad credentials
 * (never retried), throttling then success, GenerateDataKey and ReEncrypt;
 * and the KEK contract (test/kek.contract.ts: outage with a warm keyring,
 * multi-KEK fallback, reopen with an equivalent provider and by URI).
 */
import { randomBytes } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { type KmsFake, startKms } from './kms/aws-kms-server';
import { kekContract } from './kek.contract';
import { code } from './kek.helpers';
import { T } from './tessera';

let kms: KmsFake;
beforeAll(async () => {
  kms = await startKms(['tessera', 'other']);
});
afterAll(() => kms?.close());

const fast = { sleep: async () => undefined };
const clientOf = (accessKeyId = kms.accessKeyId) =>
  new KMSClient({ endpoint: kms.url, region: kms.region, credentials: { accessKeyId, secretAccessKey: 'test-secret' }, maxAttempts: 1 });
const kekOf = (extra: object = {}) => T.kek.awsKms({ client: clientOf(), keyId: kms.arn('tessera'), resilience: fast, ...extra });

describe('kek.awsKms (official SDK client, KMS JSON protocol)', () => {
  test('round trip; the id is the key URI; the requests are KMS Encrypt and Decrypt', async () => {
    const k = kekOf();
    expect(k.id).toBe(`aws-kms://${kms.arn('tessera')}`);
    const dk = randomBytes(32);
    const before = kms.requests.length;
    const w = await k.wrap(dk);
    expect(Buffer.from(w).includes(dk)).toBe(false);
    expect(Buffer.from(await k.unwrap(w)).equals(dk)).toBe(true);
    expect(kms.requests.slice(before)).toEqual(['TrentService.Encrypt', 'TrentService.Decrypt']);
  });

  test('bound to the encryption context; a blob of another key or an altered blob is ERR_AUTH', async () => {
    const w = await kekOf().wrap(randomBytes(32));
    expect((await code(kekOf({ context: { purpose: 'other' } }).unwrap(w)))[0]).toBe('ERR_AUTH');
    const bad = Uint8Array.from(w);
    bad[bad.length - 1]! ^= 1;
    expect((await code(kekOf().unwrap(bad)))[0]).toBe('ERR_AUTH');
    const other = T.kek.awsKms({ client: clientOf(), keyId: kms.arn('other'), resilience: fast });
    expect((await code(other.unwrap(w)))[0]).toBe('ERR_AUTH'); // IncorrectKeyException
  });

  test('a disabled key and bad credentials are ERR_KEK, sent once, not retried', async () => {
    kms.disable('tessera');
    try {
      const before = kms.requests.length;
      const [c, m] = await code(kekOf().wrap(randomBytes(32)));
      expect([c, m]).toEqual(['ERR_KEK', expect.stringContaining('DisabledException')]);
      expect(kms.requests.length - before).toBe(1);
    } finally {
      kms.disable('tessera', false);
    }
    const before = kms.requests.length;
    const wrong = T.kek.awsKms({ client: clientOf('AKIAWRONGWRONGWRONG'), keyId: kms.arn('tessera'), resilience: fast });
    const [c, m] = await code(wrong.wrap(randomBytes(32)));
    expect(c).toBe('ERR_KEK');
    expect(m).toContain('UnrecognizedClientException');
    expect(m).not.toContain('test-secret');
    expect(kms.requests.length - before).toBe(1);
  });

  test('throttling and internal errors are retried (both are retryable KMS answers)', async () => {
    const dk = randomBytes(32);
    kms.faults.push('ThrottlingException', 'KMSInternalException');
    const before = kms.requests.length;
    const w = await kekOf().wrap(dk);
    expect(kms.requests.length - before).toBe(3);
    expect(Buffer.from(await kekOf().unwrap(w)).equals(dk)).toBe(true);
  });

  test('generateDataKey: KMS draws the key and returns it with its wrapped form; it unwraps under the context', async () => {
    const before = kms.requests.length;
    const { dataKey, wrapped } = await kekOf().generateDataKey!(32);
    expect(dataKey.length).toBe(32);
    expect(kms.requests.slice(before)).toEqual(['TrentService.GenerateDataKey']);
    expect(Buffer.from(await kekOf().unwrap(wrapped)).equals(dataKey)).toBe(true);
    expect((await code(kekOf({ context: { purpose: 'other' } }).unwrap(wrapped)))[0]).toBe('ERR_AUTH');
    expect((await code(kekOf().generateDataKey!(0)))[0]).toBe('ERR_ARGUMENT');
  });

  test('rewrap: ReEncrypt in KMS gives a new blob of the same key, without a Decrypt; an altered blob is ERR_AUTH', async () => {
    const dk = randomBytes(32);
    const w = await kekOf().wrap(dk);
    const before = kms.requests.length;
    const again = await kekOf().rewrap!(w);
    expect(kms.requests.slice(before)).toEqual(['TrentService.ReEncrypt']);
    expect(Buffer.from(again).equals(Buffer.from(w))).toBe(false);
    expect(Buffer.from(await kekOf().unwrap(again)).equals(dk)).toBe(true);
    const bad = Uint8Array.from(w);
    bad[bad.length - 1]! ^= 1;
    expect((await code(kekOf().rewrap!(bad)))[0]).toBe('ERR_AUTH');
  });

  test('options are checked', () => {
    for (const o of [{}, { client: {}, keyId: 'k' }, { client: clientOf(), keyId: '' }, { client: clientOf(), keyId: 'k', context: { a: 1 } }])
      expect(() => T.kek.awsKms(o as Parameters<typeof T.kek.awsKms>[0])).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
  });
});

kekContract('AWS KMS', () => ({
  kek: ({ context, resilience } = {}) => kekOf({ ...(context && { context: { purpose: context } }), ...(resilience && { resilience }) }),
  otherKey: () => T.kek.awsKms({ client: clientOf(), keyId: kms.arn('other'), resilience: fast }),
  disable: (on) => kms.disable('tessera', on),
  failNext: (n) => kms.faults.push(...Array<string>(n).fill('ThrottlingException')),
  clearFaults: () => {
    kms.faults.length = 0;
  },
  requests: () => kms.requests.length,
  tamper: (w) => {
    const bad = Uint8Array.from(w);
    bad[bad.length - 1]! ^= 1;
    return bad;
  },
  uriOptions: () => ({ client: clientOf() }),
  secrets: () => ['test-secret'],
}));
