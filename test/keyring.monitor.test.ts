/**
 * The monitoring layer around keyring primitives (lib/keys/keyring-monitor.ts;
 * docs/API.md "Key manager": audit events, use counts): the primitives hold no
 * audit policy and count nothing; the wrapper does both.
 *
 * Proves: the same primitive class over the same keys counts and audits
 * nothing on its own, and through the monitor records every successful use
 * (seal, open, batches with their sizes) synchronously, in the tick of the
 * call (what the maxMessages policy relies on), and turns each failed
 * decrypt into exactly one audit event with the documented shape (key id,
 * purpose, byte count, code, time from the keyring's clock, no detail),
 * however many wrapped operations the failure passes through (reencrypt
 * -> decrypt); encrypt failures are not audited; the generic wrapper
 * handles async iterables; in a keyring, primitive calls show up in
 * status() counts and audit hooks, and failed keyset operations are
 * audited through the same layer.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { ringOpener } from './keyring.helpers';
import { rejects, T } from './tessera';

const require = createRequire(import.meta.url);
const M = require('../dist/cjs/keys/keyring-monitor.js') as typeof import('../dist/cjs/keys/keyring-monitor');
const A = require('../dist/cjs/keys/keyring-aead.js') as typeof import('../dist/cjs/keys/keyring-aead');
const K = require('../dist/cjs/keys/keyring-keys.js') as typeof import('../dist/cjs/keys/keyring-keys');
type Resolver = import('../dist/cjs/keys/keyring-keys').KeyResolver;
type Ev = import('../dist/cjs/keys/audit').AuditEvent;

let dir: string;
let n = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-keyring-monitor-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const open = ringOpener(() => path.join(dir, `ring-${n++}.json`));

const enc = (s: string) => new TextEncoder().encode(s);
const T0 = Date.UTC(2030, 0, 1);

/** One key (id 42) of purpose 'p' behind a KeyResolver that logs recorded uses. */
function fakeKeys() {
  const key = T.AeadKey.generate('xaes-256-gcm', { keyId: 42 });
  const uses: [number, string, number][] = [];
  const resolver: Resolver = {
    primary: (p) => (p === 'p' ? key : undefined),
    prepare: async () => {
      throw new T.TesseraError('ERR_ARGUMENT', 'no such purpose');
    },
    byId: (id) => {
      if (id !== 42) throw new T.TesseraError('ERR_KEY_MISMATCH', `no key with id ${id}`);
      return key;
    },
    purposeOf: (id) => (id === 42 ? 'p' : undefined),
    indexKey: () => {
      throw new T.TesseraError('ERR_ARGUMENT', 'no index keys here');
    },
    files: undefined as never,
    checkOpen: () => undefined,
    recordUse: (id, use, count) => void uses.push([id, use, count]),
  };
  return { key, uses, resolver };
}

function monitor() {
  const m = new M.KeyringMonitor(() => T0);
  const events: Ev[] = [];
  m.sink.on('audit', (e) => events.push(e));
  return { m, events };
}

function flip(m: Uint8Array): Uint8Array {
  const b = Buffer.from(m);
  b[b.length - 1]! ^= 1;
  return b;
}

describe('monitoring wraps primitives', () => {
  test('a bare primitive counts and audits nothing; wrapped, it records every use and audits each failed decrypt once', async () => {
    const { uses, resolver } = fakeKeys();
    const { m, events } = monitor();
    const raw = new A.KeyringAead('p', resolver);
    const m1 = await raw.encrypt(enc('raw'));
    await raw.decrypt(m1);
    await raw.encryptBatch([enc('a'), enc('b')]);
    expect((await rejects(raw.decrypt(flip(m1)))).code).toBe('ERR_AUTH');
    expect(uses).toEqual([]);
    expect(events).toEqual([]);

    const aead = m.audit(new A.KeyringAead('p', m.counting(resolver)), A.AEAD_AUDITED);
    const m2 = await aead.encrypt(enc('one'));
    await aead.decrypt(m2);
    const batch = await aead.encryptBatch([enc('a'), enc('b'), enc('c')]);
    await aead.decryptBatch(batch);
    await aead.decryptString(await aead.encryptToString(enc('s')));
    expect(uses).toEqual([
      [42, 'encrypt', 1],
      [42, 'decrypt', 1],
      [42, 'encrypt', 3],
      [42, 'decrypt', 3],
      [42, 'encrypt', 1],
      [42, 'decrypt', 1],
    ]);
    expect(events).toEqual([]);

    const bad = flip(m2);
    const e = await rejects(aead.decrypt(bad));
    expect(e.code).toBe('ERR_AUTH');
    expect(events).toEqual([
      { op: 'decrypt', keyId: 42, purpose: 'p', bytes: bad.length, outcome: 'failure', code: 'ERR_AUTH', time: new Date(T0).toISOString() },
    ]);
    expect(uses).toHaveLength(6); // a failed open is not a use
    // reencrypt -> decrypt: one failure, one event.
    expect((await rejects(aead.reencrypt(bad))).code).toBe('ERR_AUTH');
    expect(events).toHaveLength(2);
    // A batch failure names the group that failed; a bad text names nothing but its length.
    expect((await rejects(aead.decryptBatch([m2, bad]))).code).toBe('ERR_AUTH');
    expect(events[2]).toMatchObject({ keyId: 42, purpose: 'p', bytes: m2.length + bad.length, code: 'ERR_AUTH' });
    expect((await rejects(aead.decryptString('tsr1.!!'))).code).toBe('ERR_FORMAT');
    expect(events[3]).toMatchObject({ op: 'decrypt', keyId: null, purpose: null, bytes: 7, code: 'ERR_FORMAT' });
    const foreign = T.AeadKey.generate('xaes-256-gcm', { keyId: 7 }).seal(enc('x'));
    expect((await rejects(aead.decrypt(foreign))).code).toBe('ERR_KEY_MISMATCH');
    expect(events[4]).toMatchObject({ keyId: 7, purpose: null, bytes: foreign.length, code: 'ERR_KEY_MISMATCH' });
    // Encrypt failures are not data-operation audit events (a failed create or rotate is, as a keyset operation).
    expect((await rejects(aead.encrypt('text' as unknown as Uint8Array))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(m.audit(new A.KeyringAead('q', m.counting(resolver)), A.AEAD_AUDITED).encrypt(enc('x')))).code).toBe('ERR_ARGUMENT');
    expect(events).toHaveLength(5);
    for (const ev of events) expect(JSON.stringify(ev)).not.toContain('one');
  });

  test('uses are recorded in the tick of the call, before its promise settles', async () => {
    const { uses, resolver } = fakeKeys();
    const { m } = monitor();
    const aead = m.audit(new A.KeyringAead('p', m.counting(resolver)), A.AEAD_AUDITED);
    const pending = [aead.encrypt(enc('1')), aead.encrypt(enc('2'))];
    expect(uses).toEqual([
      [42, 'encrypt', 1],
      [42, 'encrypt', 1],
    ]); // no await yet
    const opened = aead.decrypt(await pending[0]!);
    expect(uses.at(-1)).toEqual([42, 'decrypt', 1]);
    await opened;
  });

  test('the wrapper also guards async iterables, and reports a failure once', async () => {
    const { m, events } = monitor();
    const ctx = { op: 'decrypt' as const, keyId: null, purpose: null, bytes: 0, detail: 'stream' };
    const prim = {
      async *chunks(fail: boolean) {
        yield 1;
        if (fail) throw K.failure(new T.TesseraError('ERR_AUTH', 'tampered'), ctx);
        yield 2;
      },
      async twice() {
        for await (const _ of this.chunks(true)) void _;
      },
    };
    m.audit(prim, ['chunks', 'twice']);
    const seen: number[] = [];
    for await (const c of prim.chunks(false)) seen.push(c);
    expect(seen).toEqual([1, 2]);
    expect(events).toEqual([]);
    await expect(prim.twice()).rejects.toMatchObject({ code: 'ERR_AUTH' });
    expect(events).toEqual([
      { op: 'decrypt', keyId: null, purpose: null, bytes: 0, outcome: 'failure', code: 'ERR_AUTH', time: new Date(T0).toISOString(), detail: 'stream' },
    ]);
  });
});

describe('monitoring in a keyring', () => {
  test('primitive calls show up in status() counts and audit hooks; failed keyset operations are audited', async () => {
    const log = path.join(dir, `m${n++}.audit.jsonl`);
    const { ring } = await open({ auditLog: log });
    const events: Ev[] = [];
    ring.on('audit', (e) => events.push(e));
    const aead = ring.aead('p');
    const ms = [];
    for (let i = 0; i < 3; i++) ms.push(await aead.encrypt(enc(`${i}`)));
    await ring.aead().decrypt(ms[0]!);
    await ring.aead('other').decryptBatch([ms[1]!, ms[2]!]);
    const st = ring.status().find((s) => s.purpose === 'p')!;
    expect(st).toMatchObject({ encrypted: 3, decrypted: 3 });
    expect(events.map((e) => `${e.op}:${e.outcome}`)).toEqual(['create:success']);
    expect((await rejects(ring.aead('other').decrypt(flip(ms[0]!)))).code).toBe('ERR_AUTH');
    expect(events.at(-1)).toMatchObject({ op: 'decrypt', outcome: 'failure', keyId: st.id, purpose: 'p', code: 'ERR_AUTH' });
    const src = path.join(dir, `m${n++}.bin`);
    fs.writeFileSync(src, 'not a keyring file');
    expect((await rejects(ring.streamingAead().decryptFile(src, `${src}.out`))).code).toBe('ERR_FORMAT');
    expect(events.at(-1)).toMatchObject({ op: 'decrypt', outcome: 'failure', keyId: null, purpose: null, bytes: 0, code: 'ERR_FORMAT', detail: 'file' });
    expect((await rejects(ring.rotate('nope'))).code).toBe('ERR_ARGUMENT');
    expect(events.at(-1)).toMatchObject({ op: 'rotate', outcome: 'failure', purpose: 'nope', code: 'ERR_ARGUMENT' });
    await ring.close();
    const lines = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);
    expect(lines.map((l) => `${l.op}:${l.outcome}`)).toEqual(events.map((e) => `${e.op}:${e.outcome}`));
    expect(await T.verifyAuditLog(log)).toMatchObject({ ok: true, lines: events.length });
  });
});
