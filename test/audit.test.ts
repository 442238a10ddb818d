/**
 * Audit (lib/keys/audit.ts; docs/API.md "Key manager"): every key event (create,
 * rotate, state change, destroy, export) and every failed decrypt produces
 * an audit event: time, key id, purpose, operation, byte count, outcome;
 * never key material or plaintext. Events go to hooks (ring.on('audit', fn))
 * and optionally to a hash-chained JSON-lines file whose
 * verifyAuditLog(path) detects any edited, reordered or deleted line.
 *
 * Proves: each event type reaches the hook with the documented fields and
 * the same events reach the file; refused key operations are audited as
 * failures; no plaintext or key bytes in events; a throwing hook does not
 * break the keyring; the chain verifies, continues across reopen, and an
 * edited line (first, middle, last), a deleted line, swapped lines and a
 * partial last line are reported at the right line number.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { T } from './tessera';

type Ev = import('../dist/cjs/index').AuditEvent;

let dir: string;
let n = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-audit-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const enc = (s: string) => new TextEncoder().encode(s);

/** A log with every event type; returns its path and the hook's events. */
async function session(): Promise<{ log: string; events: Ev[]; ids: number[]; exported: Uint8Array }> {
  const base = path.join(dir, `s${n++}`);
  const log = `${base}.audit.jsonl`;
  const mk = randomBytes(32);
  const ring = await T.Keyring.open(new T.FileKeyStore(`${base}.json`), { kek: T.kek.fromKey(mk), auditLog: log });
  const events: Ev[] = [];
  ring.on('audit', (e) => events.push(e));
  const k1 = await ring.createPurpose('user-data');
  const m = await ring.aead('user-data').encrypt(enc('top secret plaintext'));
  const k2 = await ring.rotate('user-data');
  await ring.setPolicy('user-data', { maxMessages: 1000 });
  await ring.setState(k1, 'retired');
  await ring
    .aead()
    .decrypt(m)
    .catch(() => undefined); // retired: a failed decrypt
  await ring.setState(k1, 'decrypt-only');
  await ring
    .aead()
    .decrypt(m, { aad: enc('wrong') })
    .catch(() => undefined);
  await ring.destroy(k2).catch(() => undefined); // the primary: refused
  const exported = (await ring.exportKey(k1, T.kek.fromKey(randomBytes(32)))).wrapped;
  await ring.rotate('user-data');
  await ring.destroy(k1);
  await ring
    .aead()
    .decrypt(m)
    .catch(() => undefined);
  await ring.close();
  return { log, events, ids: [k1, k2], exported };
}

describe('audit events', () => {
  test('every event type reaches the hook and the file, with the documented fields', async () => {
    const { log, events, ids, exported } = await session();
    const [k1, k2] = ids as [number, number];
    const ops = events.map((e) => `${e.op}:${e.outcome}`);
    expect(ops).toEqual([
      'create:success',
      'state:success', // k1 active -> decrypt-only
      'rotate:success',
      'policy:success',
      'state:success', // k1 -> retired
      'decrypt:failure',
      'state:success', // k1 -> decrypt-only
      'decrypt:failure',
      'destroy:failure',
      'export:success',
      'state:success', // k2 -> decrypt-only
      'rotate:success',
      'destroy:success',
      'decrypt:failure',
    ]);
    for (const e of events) {
      expect(Object.keys(e)).toEqual(expect.arrayContaining(['time', 'keyId', 'purpose', 'op', 'bytes', 'outcome']));
      expect(new Date(e.time).toISOString()).toBe(e.time);
      expect(e.purpose).toBe('user-data');
    }
    expect(events[0]).toMatchObject({ op: 'create', keyId: k1, bytes: 0 });
    expect(events[2]).toMatchObject({ op: 'rotate', keyId: k2, detail: `previous ${k1}` });
    expect(events[4]).toMatchObject({ op: 'state', keyId: k1, detail: 'decrypt-only -> retired' });
    expect(events[5]).toMatchObject({ op: 'decrypt', keyId: k1, code: 'ERR_KEY_RETIRED' });
    expect(events[5]!.bytes).toBeGreaterThan(20);
    expect(events[7]).toMatchObject({ op: 'decrypt', keyId: k1, code: 'ERR_AUTH' });
    expect(events[8]).toMatchObject({ op: 'destroy', keyId: k2, code: 'ERR_ARGUMENT' });
    expect(events[9]).toMatchObject({ op: 'export', keyId: k1 });
    expect(events[12]).toMatchObject({ op: 'destroy', keyId: k1 });
    expect(events[13]).toMatchObject({ op: 'decrypt', keyId: k1, code: 'ERR_KEY_DESTROYED' });

    const lines = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => `${l.op}:${l.outcome}`)).toEqual(ops);
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    const text = fs.readFileSync(log, 'utf8');
    expect(text).not.toContain('top secret');
    expect(text).not.toContain(Buffer.from('top secret plaintext').toString('base64'));
    expect(text).not.toContain(Buffer.from(exported).toString('base64'));
    expect(await T.verifyAuditLog(log)).toMatchObject({ ok: true, lines: ops.length });
  });

  test('a throwing hook does not break the keyring; off() removes a hook', async () => {
    const ring = await T.Keyring.open(new T.FileKeyStore(path.join(dir, `h${n++}.json`)), { kek: T.kek.fromKey(randomBytes(32)) });
    const seen: string[] = [];
    const bad = () => {
      throw new Error('hook bug');
    };
    const good = (e: Ev) => seen.push(e.op);
    ring.on('audit', bad).on('audit', good);
    const warned = new Promise((r) => process.once('warning', r));
    await ring.createPurpose('p');
    expect(((await warned) as Error).message).toContain('hook bug');
    ring.off('audit', good);
    await ring.rotate('p');
    expect(seen).toEqual(['create']);
    await ring.close();
  });
});

describe('verifyAuditLog', () => {
  async function chain(): Promise<{ log: string; lines: string[] }> {
    const { log } = await session();
    return { log, lines: fs.readFileSync(log, 'utf8').split('\n').slice(0, -1) };
  }
  const write = (log: string, lines: string[]) => fs.writeFileSync(log, lines.map((l) => l + '\n').join(''));

  test('the chain continues across reopen and verifies', async () => {
    const { log, lines } = await chain();
    const first = await T.verifyAuditLog(log);
    expect(first.ok).toBe(true);
    const base = path.join(dir, `r${n++}`);
    const ring = await T.Keyring.open(new T.FileKeyStore(`${base}.json`), { kek: T.kek.fromKey(randomBytes(32)), auditLog: log });
    await ring.createPurpose('more');
    await ring.close();
    const res = await T.verifyAuditLog(log);
    expect(res).toMatchObject({ ok: true, lines: lines.length + 1 });
    if (res.ok && first.ok) expect(res.head).not.toBe(first.head);
    const added = JSON.parse(fs.readFileSync(log, 'utf8').trim().split('\n').at(-1)!);
    expect(added).toMatchObject({ seq: lines.length + 1, prev: first.ok ? first.head : '' });
  });

  test('edited lines (first, middle, last) are reported at their line', async () => {
    const { log, lines } = await chain();
    for (const i of [0, 5, lines.length - 1]) {
      const edited = [...lines];
      edited[i] = edited[i]!.replace(/"bytes":\d+/, '"bytes":999');
      expect(edited[i]).not.toBe(lines[i]);
      write(log, edited);
      expect(await T.verifyAuditLog(log)).toMatchObject({ ok: false, badLine: i + 1, lines: i });
    }
    // The genesis value of the first line is checked too.
    const g = [...lines];
    g[0] = g[0]!.replace(/"prev":"0+"/, `"prev":"${'1'.repeat(64)}"`);
    write(log, g);
    expect(await T.verifyAuditLog(log)).toMatchObject({ ok: false, badLine: 1 });
  });

  test('a deleted line, swapped lines and a partial last line are detected', async () => {
    const { log, lines } = await chain();
    write(log, [...lines.slice(0, 3), ...lines.slice(4)]);
    expect(await T.verifyAuditLog(log)).toMatchObject({ ok: false, badLine: 4 });
    write(log, lines.slice(1));
    expect(await T.verifyAuditLog(log)).toMatchObject({ ok: false, badLine: 1 });
    const swapped = [...lines];
    [swapped[6], swapped[7]] = [swapped[7]!, swapped[6]!];
    write(log, swapped);
    expect(await T.verifyAuditLog(log)).toMatchObject({ ok: false, badLine: 7 });
    fs.writeFileSync(log, lines.join('\n') + '\n' + lines[0]!.slice(0, 10));
    expect(await T.verifyAuditLog(log)).toMatchObject({ ok: false, badLine: lines.length + 1 });
    write(log, lines);
    expect((await T.verifyAuditLog(log)).ok).toBe(true);
  });
});
