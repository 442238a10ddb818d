// The contract every remote KEK provider meets (docs/API.md "Key manager", KMS
// key-encryption keys), run by each provider's suite against its protocol
// server in test/kms/ and, with `npm run test:live`, against the real
// service (test/live/kek.live.test.ts). What it proves:
// - round trip of data keys of several sizes; two providers for the same key
//   have the same id and open each other's wraps; a wrap never contains the
//   data key;
// - the binding: another context, an altered wrap and another key are all
//   ERR_AUTH;
// - an unusable key (disabled, or access denied) is ERR_KEK after exactly one
//   request (never retried);
// - throttling / transient server errors are retried and then succeed;
// - during an outage new wraps fail with ERR_KEK_UNAVAILABLE while a keyring
//   keeps serving the data keys it already holds;
// - kek.multi falls back to another member when the service is down, and a
//   keyring reopens through the fallback;
// - a keyring created with the provider reopens with an equivalent one (a new
//   client), and with kek.fromUri(its id);
// - no credential appears in any error message.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';

import { code } from './kek.helpers';
import { T } from './tessera';

type Kek = ReturnType<typeof T.kek.fromKey>;

export interface KekFixture {
  /** A provider for the service's main key with a fresh client; `context` replaces the default binding. */
  kek(opts?: { context?: string; resilience?: object }): Kek;
  /** A provider for a second key of the same service. */
  otherKey(): Kek;
  /** Make the main key unusable (disabled or access denied), or usable again. */
  disable(on: boolean): void | Promise<void>;
  /** The next n requests fail with the service's throttling or transient server error (a live service: undefined). */
  failNext?(n: number): void;
  clearFaults?(): void;
  /** Requests the service has seen (a live service: undefined). */
  requests?(): number;
  /** Alter a wrapped key so that it must be refused. */
  tamper(wrapped: Uint8Array): Uint8Array;
  /** The second argument of kek.fromUri for this service. */
  uriOptions(): object;
  /** Strings that must never appear in an error (tokens, secrets). */
  secrets(): string[];
}

/** Registers the contract's tests for one provider (call inside a describe or at top level). */
export function kekContract(name: string, fx: () => KekFixture): void {
  const fast = { sleep: async () => undefined };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-kek-contract-'));
  let n = 0;
  const store = () => new T.FileKeyStore(path.join(dir, `ring-${++n}.json`));
  const noSecret = (m: string) => {
    for (const s of fx().secrets()) expect(m).not.toContain(s);
  };

  describe(`KEK contract: ${name}`, () => {
    test('round trip; equivalent providers share an id and open each other’s wraps; no data key in a wrap', async () => {
      const a = fx().kek({ resilience: fast });
      const b = fx().kek({ resilience: fast });
      expect(b.id).toBe(a.id);
      expect(a.id.length).toBeGreaterThan(8);
      for (const len of [16, 32, 64]) {
        const dk = randomBytes(len);
        const w = await a.wrap(dk);
        expect(Buffer.from(w).includes(dk.subarray(0, 16))).toBe(false);
        expect(Buffer.from(await b.unwrap(w)).equals(dk)).toBe(true);
      }
    });

    test('bound to its context: another context, an altered wrap and another key are ERR_AUTH', async () => {
      const f = fx();
      const w = await f.kek({ resilience: fast }).wrap(randomBytes(32));
      const results = [
        await code(f.kek({ context: 'another-context', resilience: fast }).unwrap(w)),
        await code(f.kek({ resilience: fast }).unwrap(f.tamper(w))),
        await code(f.otherKey().unwrap(w)),
      ];
      expect(results.map(([c]) => c)).toEqual(['ERR_AUTH', 'ERR_AUTH', 'ERR_AUTH']);
      for (const [, m] of results) noSecret(m);
    });

    test('an unusable key is ERR_KEK after one request, never retried', async () => {
      const f = fx();
      await f.disable(true);
      try {
        const before = f.requests?.();
        const [c, m] = await code(f.kek({ resilience: fast }).wrap(randomBytes(32)));
        expect(c).toBe('ERR_KEK');
        noSecret(m);
        if (before !== undefined) expect(f.requests!() - before).toBe(1);
      } finally {
        await f.disable(false);
      }
    });

    const faults = fx().failNext !== undefined;
    if (faults) {
      test('throttling and transient errors are retried, then the call succeeds', async () => {
        const f = fx();
        const dk = randomBytes(32);
        f.failNext!(2);
        const before = f.requests!();
        const w = await f.kek({ resilience: fast }).wrap(dk);
        expect(f.requests!() - before).toBe(3);
        expect(Buffer.from(await f.kek({ resilience: fast }).unwrap(w)).equals(dk)).toBe(true);
      });

      test('an outage: new wraps are ERR_KEK_UNAVAILABLE; a keyring keeps serving the keys it holds', async () => {
        const f = fx();
        const ring = await T.Keyring.open(store(), { kek: f.kek({ resilience: { ...fast, retries: 2 } }) });
        await ring.createPurpose('p');
        f.failNext!(1000);
        try {
          const msg = await ring.encrypt('p', Buffer.from('served from memory'));
          expect(Buffer.from(await ring.decrypt(msg)).toString()).toBe('served from memory');
          const [c, m] = await code(ring.rotate('p'));
          expect(c).toBe('ERR_KEK_UNAVAILABLE');
          noSecret(m);
        } finally {
          f.clearFaults!();
          await ring.close();
        }
      });

      test('kek.multi falls back to a local KEK while the service is down, and a keyring reopens through it', async () => {
        const f = fx();
        const local = T.kek.fromKey(randomBytes(32));
        const multi = () => T.kek.multi([f.kek({ resilience: { ...fast, retries: 1 } }), local]);
        const s = store();
        const ring = await T.Keyring.open(s, { kek: multi() });
        await ring.createPurpose('p');
        const msg = await ring.encrypt('p', Buffer.from('two ways in'));
        await ring.close();
        f.failNext!(1000);
        try {
          const again = await T.Keyring.open(s, { kek: multi() });
          expect(Buffer.from(await again.decrypt(msg)).toString()).toBe('two ways in');
          await again.close();
        } finally {
          f.clearFaults!();
        }
      });
    } else {
      test('fault injection needs the protocol server: this run is against a live service', () => {
        expect(fx().requests).toBeUndefined();
      });
    }

    test('a keyring reopens with an equivalent provider and with kek.fromUri(id)', async () => {
      const f = fx();
      const s = store();
      const k = f.kek({ resilience: fast });
      const ring = await T.Keyring.open(s, { kek: k });
      await ring.createPurpose('p');
      const msg = await ring.encrypt('p', Buffer.from('via the service'));
      await ring.close();
      for (const again of [f.kek({ resilience: fast }), T.kek.fromUri(k.id, f.uriOptions())]) {
        expect(again.id).toBe(k.id);
        const r = await T.Keyring.open(s, { kek: again });
        expect(Buffer.from(await r.decrypt(msg)).toString()).toBe('via the service');
        await r.close();
      }
    });
  });
}
