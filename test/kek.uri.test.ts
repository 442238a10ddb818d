/**
 * kek.fromUri (lib/keys/kek-uri.ts): which provider each URI scheme builds,
 * what it refuses (unknown schemes, missing clients or tokens, a client or
 * endpoint for another key or host, malformed RFC 7512 URIs), and that a
 * store which recorded a KEK's former id still opens (KekProvider.formerIds,
 * kek.multi included). Each provider's round trip by URI against its
 * protocol server is in the KEK contract (test/kek.contract.ts).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, test } from 'vitest';

import { code } from './kek.helpers';
import { T } from './tessera';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-kek-uri-'));
const arg = expect.objectContaining({ name: 'TesseraError', code: 'ERR_ARGUMENT' });
const aws = () => new KMSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'AKIAX', secretAccessKey: 'x' } });

/** A stand-in for an open Pkcs11Provider (serial + kek({label})) over local keys: what fromUri needs of it. */
function hsm(serial: string) {
  const keys = new Map<string, ReturnType<typeof T.kek.fromKey>>();
  const looked: string[] = [];
  return {
    serial,
    looked,
    kek({ label }: { label: string }) {
      looked.push(label);
      if (!keys.has(label)) keys.set(label, T.kek.fromKey(randomBytes(32)));
      return Promise.resolve(keys.get(label)!);
    },
  };
}

describe('kek.fromUri', () => {
  test('aws-kms:// and hcvault:// build the providers whose id is that URI', () => {
    const arn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(T.kek.fromUri(`aws-kms://${arn}`, { client: aws() }).id).toBe(`aws-kms://${arn}`);
    const v = T.kek.fromUri('hcvault://vault.example:8200/secret/transit/keys/app', { token: 'hvs.t' });
    expect(v.id).toBe('hcvault://vault.example:8200/secret/transit/keys/app');
    expect(T.kek.fromUri(v.id, { token: 'hvs.t', endpoint: 'https://vault.example:8200' }).id).toBe(v.id);
  });

  test('refuses unknown schemes, missing clients and tokens, and an endpoint on another host', () => {
    expect(() => T.kek.fromUri('s3://bucket/key', {})).toThrow(arg);
    expect(() => T.kek.fromUri('', {})).toThrow(arg);
    expect(() => T.kek.fromUri('aws-kms://alias/x', {})).toThrow(expect.objectContaining({ message: expect.stringContaining('options.client') }));
    expect(() => T.kek.fromUri('gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k', {})).toThrow(arg);
    expect(() => T.kek.fromUri('azure-kv://v.vault.azure.net/keys/k', {})).toThrow(arg);
    expect(() => T.kek.fromUri('hcvault://vault.example/transit/keys/app', {})).toThrow(
      expect.objectContaining({ message: expect.stringContaining('options.token') }),
    );
    expect(() => T.kek.fromUri('hcvault://vault.example/transit/keys/app', { token: 't', endpoint: 'https://other.example' })).toThrow(arg);
    expect(() => T.kek.fromUri('hcvault://vault.example/app', { token: 't' })).toThrow(arg);
    expect(() => T.kek.fromUri('pkcs11:object=k', {})).toThrow(expect.objectContaining({ message: expect.stringContaining('options.hsm') }));
  });

  test('pkcs11: (RFC 7512): percent-encoded attributes, serial checked, key looked up on first use', async () => {
    const h = hsm('0a1b 2c');
    const k = T.kek.fromUri('pkcs11:token=t;serial=0a1b%202c;object=master%3Bkek;type=secret-key', { hsm: h });
    expect(k.id).toBe('pkcs11:serial=0a1b%202c;object=master%3Bkek;type=secret-key');
    expect(h.looked).toEqual([]);
    const dk = randomBytes(32);
    expect(Buffer.from(await k.unwrap(await k.wrap(dk))).equals(dk)).toBe(true);
    expect(h.looked).toEqual(['master;kek']);
    // Canonical: the id read back names the same key.
    expect(T.kek.fromUri(k.id, { hsm: h }).id).toBe(k.id);
    expect(() => T.kek.fromUri('pkcs11:serial=other;object=k', { hsm: h })).toThrow(arg);
    expect(() => T.kek.fromUri('pkcs11:serial=0a1b%202c', { hsm: h })).toThrow(arg);
    expect(() => T.kek.fromUri('pkcs11:object=k;type=private', { hsm: h })).toThrow(arg);
    expect(() => T.kek.fromUri('pkcs11:object=%zz', { hsm: h })).toThrow(arg);
    expect(() => T.kek.fromUri('pkcs11:objectk', { hsm: h })).toThrow(arg);
  });
});

describe('formerIds: a store that recorded an earlier id of the same KEK still opens', () => {
  const local = () => {
    const key = T.kek.fromKey(randomBytes(32));
    const as = (id: string, formerIds?: string[]) => ({ id, formerIds, wrap: key.wrap, unwrap: key.unwrap });
    return as;
  };

  test('a keyring, directly and inside kek.multi', async () => {
    const as = local();
    const file = path.join(dir, 'former.json');
    const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: as('pkcs11:0a1b:kek') });
    await ring.createPurpose('p');
    const msg = await ring.encrypt('p', Buffer.from('kept'));
    await ring.close();
    const renamed = as('pkcs11:serial=0a1b;object=kek;type=secret-key', ['pkcs11:0a1b:kek']);
    const again = await T.Keyring.open(new T.FileKeyStore(file), { kek: renamed });
    expect(Buffer.from(await again.decrypt(msg)).toString()).toBe('kept');
    await again.close();
    // Without the former id it is another KEK: ERR_KEK before any unwrap.
    expect((await code(T.Keyring.open(new T.FileKeyStore(file), { kek: as('pkcs11:serial=0a1b;object=kek;type=secret-key') })))[0]).toBe('ERR_KEK');

    // One member, so no other member can answer in its place.
    const mfile = path.join(dir, 'former-multi.json');
    const m1 = T.kek.multi([as('pkcs11:0a1b:kek')]);
    const r1 = await T.Keyring.open(new T.FileKeyStore(mfile), { kek: m1 });
    await r1.createPurpose('p');
    const mmsg = await r1.encrypt('p', Buffer.from('kept too'));
    await r1.close();
    const m2 = T.kek.multi([renamed]);
    expect(m2.id).not.toBe(m1.id);
    expect(m2.formerIds).toEqual([m1.id]);
    const r2 = await T.Keyring.open(new T.FileKeyStore(mfile), { kek: m2 });
    expect(Buffer.from(await r2.decrypt(mmsg)).toString()).toBe('kept too');
    await r2.close();
  });
});
