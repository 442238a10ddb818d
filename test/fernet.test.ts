/**
 * Fernet (lib/keys/fernet.ts; contract `fernet.encrypt/decrypt`): the spec's
 * generate/verify vector (github.com/fernet/spec), tokens made by Python's
 * cryptography library (test/fixtures/fernet-python.json) decrypt and are
 * reproduced byte for byte from the same key, time and IV; TTL and clock
 * skew (ERR_EXPIRED only for authentic tokens); every tampered byte is
 * ERR_AUTH (MAC and padding alike), malformed tokens ERR_FORMAT.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';

import { codeOf, root, T } from './tessera';

const { encryptAt } = require(path.join(root, 'dist/cjs/keys/fernet.js')) as typeof import('../dist/cjs/keys/fernet');

// github.com/fernet/spec generate.json / verify.json ("1985-10-26T01:20:00-07:00").
const SPEC = {
  secret: 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=',
  token: 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
  now: Date.parse('1985-10-26T01:20:00-07:00') / 1000,
  iv: Uint8Array.from({ length: 16 }, (_, i) => i),
  src: 'hello',
};

describe('fernet', () => {
  test('the spec vector: generate and verify (ttl 60 s, one second later)', () => {
    expect(encryptAt(SPEC.secret, Buffer.from(SPEC.src), SPEC.now, SPEC.iv)).toBe(SPEC.token);
    expect(Buffer.from(T.fernet.decrypt(SPEC.secret, SPEC.token, { ttlSeconds: 60, now: SPEC.now + 1 })).toString()).toBe(SPEC.src);
    expect(codeOf(() => T.fernet.decrypt(SPEC.secret, SPEC.token, { ttlSeconds: 60, now: SPEC.now + 61 }))).toBe('ERR_EXPIRED');
    expect(codeOf(() => T.fernet.decrypt(SPEC.secret, SPEC.token, { ttlSeconds: 60, now: SPEC.now - 61 }))).toBe('ERR_EXPIRED'); // > 60 s in the future
    expect(Buffer.from(T.fernet.decrypt(SPEC.secret, SPEC.token)).toString()).toBe(SPEC.src); // no ttl: no time check
  });

  test("tokens made by Python's cryptography decrypt, and are reproduced from the same parts", () => {
    const { vectors } = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/fernet-python.json'), 'utf8')) as {
      vectors: { key: string; plaintext: string; iv: string; time: number; token: string }[];
    };
    expect(vectors.length).toBeGreaterThanOrEqual(7);
    for (const v of vectors) {
      expect(Buffer.from(T.fernet.decrypt(v.key, v.token)).toString('hex')).toBe(v.plaintext);
      expect(encryptAt(v.key, Buffer.from(v.plaintext, 'hex'), v.time, Buffer.from(v.iv, 'hex'))).toBe(v.token);
    }
  });

  test('round trips; a new token carries the current time and decrypts within its ttl', () => {
    const key = randomBytes(32).toString('base64url') + '=';
    for (const n of [0, 1, 15, 16, 17, 1000]) {
      const pt = randomBytes(n);
      const tok = T.fernet.encrypt(key, pt);
      expect(tok.startsWith('gAAAAA')).toBe(true);
      expect(Buffer.from(T.fernet.decrypt(key, tok, { ttlSeconds: 5 })).equals(pt)).toBe(true);
      expect(Buffer.from(T.fernet.decrypt(key, tok.replace(/=+$/, ''))).equals(pt)).toBe(true); // unpadded too
    }
  });

  test('every tampered byte is ERR_AUTH, including a re-MACed bad padding; wrong key is ERR_AUTH', () => {
    const key = randomBytes(32);
    const k = key.toString('base64url') + '=';
    const raw = Buffer.from(T.fernet.encrypt(k, Buffer.from('attack at dawn, bring snacks')), 'base64url');
    const codes = new Set<string>();
    for (let i = 1; i < raw.length; i++) {
      const bad = Buffer.from(raw);
      bad[i]! ^= 0x01;
      codes.add(codeOf(() => T.fernet.decrypt(k, bad.toString('base64url'))));
    }
    expect([...codes]).toEqual(['ERR_AUTH']);
    expect(codeOf(() => T.fernet.decrypt(randomBytes(32).toString('base64url') + '=', raw.toString('base64url')))).toBe('ERR_AUTH');
    // A token with a valid MAC over a ciphertext whose padding is wrong: same code as a bad MAC.
    const iv = randomBytes(16);
    const c = createCipheriv('aes-128-cbc', key.subarray(16), iv).setAutoPadding(false);
    const ct = Buffer.concat([c.update(Buffer.alloc(16, 0x41)), c.final()]); // last byte 0x41: not PKCS7
    const head = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(8), iv]);
    const mac = createHmac('sha256', key.subarray(0, 16)).update(head).update(ct).digest();
    expect(codeOf(() => T.fernet.decrypt(k, Buffer.concat([head, ct, mac]).toString('base64url')))).toBe('ERR_AUTH');
  });

  test('malformed tokens and keys', () => {
    const k = randomBytes(32).toString('base64url');
    const tok = T.fernet.encrypt(k, Buffer.from('x'));
    const raw = Buffer.from(tok, 'base64url');
    expect(codeOf(() => T.fernet.decrypt(k, tok.slice(0, 20)))).toBe('ERR_FORMAT');
    expect(codeOf(() => T.fernet.decrypt(k, tok + '!'))).toBe('ERR_FORMAT');
    expect(codeOf(() => T.fernet.decrypt(k, Buffer.concat([Buffer.from([0x81]), raw.subarray(1)]).toString('base64url')))).toBe('ERR_FORMAT');
    expect(codeOf(() => T.fernet.decrypt(k, raw.subarray(0, raw.length - 1).toString('base64url')))).toBe('ERR_FORMAT');
    expect(codeOf(() => T.fernet.decrypt(k, 42 as unknown as string))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.fernet.decrypt(randomBytes(16).toString('base64url'), tok))).toBe('ERR_KEY_LENGTH');
    expect(codeOf(() => T.fernet.encrypt('not*base64', Buffer.from('x')))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.fernet.decrypt(k, tok, { ttlSeconds: -1 }))).toBe('ERR_ARGUMENT');
  });
});
