/**
 * Fernet tokens (lib/keys/fernet.ts; github.com/fernet/spec "Token Format":
 * base64url(0x80 || timestamp uint64 BE || IV 16 || AES-128-CBC ciphertext ||
 * HMAC-SHA256 32)) under fast-check: tokens come from other services, so
 * decrypt is a parser of untrusted input. Cases per property:
 * test/property-runs.ts.
 *
 * Proves:
 *  - encrypt / decrypt round-trip any plaintext;
 *  - a token edited as bytes (re-encoded) is ERR_FORMAT exactly when the
 *    spec's layout rules it out (length below 73 or not 57 + 16k, version not
 *    0x80) and ERR_AUTH otherwise; never plaintext;
 *  - a token edited as text decrypts only when it still decodes to the same
 *    bytes (padding, surrounding whitespace), else ERR_FORMAT / ERR_AUTH;
 *  - random strings: ERR_FORMAT or ERR_AUTH; another key: ERR_AUTH;
 *  - ttlSeconds: an authentic token is ERR_EXPIRED exactly when issued +
 *    ttl < now or issued > now + 60 s.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

import { applyByteEdits, byteEdits, equalBytes, outcome } from './property-arbitraries';
import { params, scaleTimeout } from './property-runs';
import { T } from './tessera';

scaleTimeout(1);

const Fer = require('../dist/cjs/keys/fernet.js') as typeof import('../dist/cjs/keys/fernet');

const KEY = randomBytes(32).toString('base64url') + '=';
const OTHER = randomBytes(32).toString('base64url');
const pt = fc.uint8Array({ maxLength: 70 });
const padded = (b: Buffer) => b.toString('base64url') + '='.repeat((3 - (b.length % 3)) % 3);
const raw = (token: string) => Buffer.from(token.trim().replace(/=+$/, ''), 'base64url');

describe('Fernet decrypt', () => {
  test('encrypt / decrypt round-trip', () => {
    fc.assert(
      fc.property(pt, (p) => {
        expect(equalBytes(T.fernet.decrypt(KEY, T.fernet.encrypt(KEY, p)), p)).toBe(true);
      }),
      params(),
    );
  });

  test('byte edits: ERR_FORMAT exactly for layouts the spec rules out, else ERR_AUTH', () => {
    fc.assert(
      fc.property(pt, byteEdits, (p, edits) => {
        const token = T.fernet.encrypt(KEY, p);
        const t = raw(token);
        const bad = Buffer.from(applyByteEdits(t, edits));
        const o = outcome(() => T.fernet.decrypt(KEY, padded(bad)));
        if (bad.equals(t)) {
          expect(o).toBe('ok');
          return;
        }
        const layout = bad.length >= 73 && (bad.length - 57) % 16 === 0 && bad[0] === 0x80;
        expect(o).toBe(layout ? 'ERR_AUTH' : 'ERR_FORMAT');
      }),
      params(),
    );
  });

  test('text edits decrypt only when the token still decodes to the same bytes', () => {
    const edit = fc.record({ op: fc.constantFrom('replace', 'insert', 'delete'), at: fc.nat(), ch: fc.constantFrom(...'Aa0_-+/= \n.'.split('')) });
    fc.assert(
      fc.property(pt, fc.array(edit, { minLength: 1, maxLength: 3 }), (p, edits) => {
        const token = T.fernet.encrypt(KEY, p);
        const s = edits.reduce((acc, e) => {
          const at = e.at % (acc.length + (e.op === 'insert' ? 1 : 0));
          return e.op === 'insert' ? acc.slice(0, at) + e.ch + acc.slice(at) : acc.slice(0, at) + (e.op === 'replace' ? e.ch : '') + acc.slice(at + 1);
        }, token);
        let got: Uint8Array | undefined;
        const o = outcome(() => (got = T.fernet.decrypt(KEY, s)));
        if (o === 'ok') {
          // Only padding or surrounding whitespace changed: the same canonical bytes, the same plaintext.
          expect(raw(s).equals(raw(token))).toBe(true);
          expect(equalBytes(got!, p)).toBe(true);
        } else expect(['ERR_FORMAT', 'ERR_AUTH']).toContain(o);
      }),
      params(),
    );
  });

  test('random strings: ERR_FORMAT or ERR_AUTH; another key: ERR_AUTH', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 120 }),
          fc.base64String({ maxLength: 140 }),
          fc.uint8Array({ minLength: 57, maxLength: 140 }).map((b) => padded(Buffer.from(b))),
        ),
        pt,
        (s, p) => {
          expect(['ERR_FORMAT', 'ERR_AUTH']).toContain(outcome(() => T.fernet.decrypt(KEY, s)));
          expect(outcome(() => T.fernet.decrypt(OTHER, T.fernet.encrypt(KEY, p)))).toBe('ERR_AUTH');
        },
      ),
      params(),
    );
  });

  test('ttlSeconds: ERR_EXPIRED exactly when issued + ttl < now or issued > now + 60', () => {
    fc.assert(
      fc.property(
        pt,
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: -200, max: 200 }),
        fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 300 }), fc.double({ min: 0, max: 300, noNaN: true })),
        (p, issued, delta, ttl) => {
          const token = Fer.encryptAt(KEY, p, issued, randomBytes(16));
          const now = issued + delta;
          const expired = ttl !== undefined && (issued + ttl < now || issued > now + 60);
          const o = outcome(() => T.fernet.decrypt(KEY, token, { ttlSeconds: ttl, now }));
          expect(o).toBe(expired ? 'ERR_EXPIRED' : 'ok');
        },
      ),
      params(),
    );
  });
});
