/**
 * kek.awsKms (lib/keys/kek-aws.ts) through the official @aws-sdk/client-kms
 * KMSClient, against a KMS endpoint written from the API reference
 * (test/kms/aws-kms-server.ts) over real HTTP on 127.0.0.1: round trip, the
 * encryption context binding, another key, a disabled key, bad credentials
 * (never retried), throttling then success, an outage
 * (ERR_KEK_UNAVAILABLE) while a keyring keeps serving the keys it already
 * holds, and a keyring that reopens with an equivalent provider.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { type KmsFake, startKms } from './kms/aws-kms-server';
import { code } from './kek.helpers';
import { T } from './tessera';

let kms: KmsFake;
beforeAll(async () => {
  kms = await startKms(['tessera', 'other']);
});
afterAll(() => kms?.close());

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-kek-aws-'));
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

  test('throttling and internal errors are retried; an outage is ERR_KEK_UNAVAILABLE while a keyring keeps serving its keys', async () => {
    const dk = randomBytes(32);
    kms.faults.push('ThrottlingException', 'KMSInternalException');
    const before = kms.requests.length;
    const w = await kekOf().wrap(dk);
    expect(kms.requests.length - before).toBe(3);
    expect(Buffer.from(await kekOf().unwrap(w)).equals(dk)).toBe(true);

    const file = path.join(dir, 'outage.json');
    const kek = kekOf({ resilience: { ...fast, retries: 2 } });
    const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek });
    await ring.createPurpose('p');
    kms.faults.push(...Array(50).fill('ThrottlingException'));
    try {
      const msg = await ring.encrypt('p', Buffer.from('served from memory'));
      expect(Buffer.from(await ring.decrypt(msg)).toString()).toBe('served from memory');
      const [c, m] = await code(ring.rotate('p')); // a new key must be wrapped: the KMS is needed
      expect(c).toBe('ERR_KEK_UNAVAILABLE');
      expect(m).toContain('ThrottlingException');
    } finally {
      kms.faults.length = 0;
    }
    await ring.close();
  });

  test('a keyring created with the KMS KEK reopens with an equivalent provider (a new client)', async () => {
    const file = path.join(dir, 'ring.json');
    const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: kekOf() });
    await ring.createPurpose('p');
    const msg = await ring.encrypt('p', Buffer.from('via kms'));
    await ring.close();
    const again = await T.Keyring.open(new T.FileKeyStore(file), { kek: kekOf() });
    expect(Buffer.from(await again.decrypt(msg)).toString()).toBe('via kms');
    await again.close();
  });

  test('options are checked', () => {
    for (const o of [{}, { client: {}, keyId: 'k' }, { client: clientOf(), keyId: '' }, { client: clientOf(), keyId: 'k', context: { a: 1 } }])
      expect(() => T.kek.awsKms(o as Parameters<typeof T.kek.awsKms>[0])).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
  });
});
