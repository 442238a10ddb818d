/**
 * PKCS#11 HSM bridge (lib/hsm/pkcs11.ts; docs/ARCHITECTURE.md) against
 * a real PKCS#11 module: SoftHSM2 with a private token directory made by
 * test/hsm/softhsm.ts (never skipped; the suite fails when SoftHSM2 is
 * missing and cannot be installed).
 *
 * Proves: without pkcs11js -> ERR_BACKEND naming the package;
 * generate / find / reopen a persistent KEK (sensitive, non-extractable);
 * CKM_AES_KEY_WRAP_PAD byte-identical to keywrap.wrapPad under a key
 * imported with a known CKA_VALUE, both directions; tampered / wrong-KEK
 * unwrap -> ERR_PKCS11_DEVICE on SoftHSM2 (it answers a failed integrity
 * check with CKR_GENERAL_ERROR, which is never ERR_AUTH); AES-GCM in the
 * token readable by software AES-GCM (a 128-bit tag), tampered / wrong AAD
 * -> ERR_PKCS11_DEVICE on SoftHSM2 (CKR_GENERAL_ERROR again), too short for
 * a tag -> ERR_AUTH (the bridge checks the length); CKR_GENERAL_ERROR is
 * ERR_PKCS11_DEVICE everywhere, explicit failure codes
 * (CKR_ENCRYPTED_DATA_INVALID, CKR_WRAPPED_KEY_INVALID, ...) are ERR_AUTH; HMAC-SHA256
 * equal to software HMAC; wrong PIN -> ERR_PKCS11_PIN (also while another
 * provider of the process is logged in); a key without
 * CKA_WRAP -> ERR_PKCS11 naming CKR_KEY_FUNCTION_NOT_PERMITTED; 1000
 * concurrent wrap/unwrap over 4 sessions with zero errors, exclusive
 * checkout, and the event loop responsive; close() with calls in flight
 * waits for all of them; reference-counted initialization across providers
 * and re-initialization; a keyring whose KEK lives in the token survives a
 * process restart (two child processes).
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { createSoftHsm, type SoftHsm } from './hsm/softhsm';
import { rejects, root, T } from './tessera';

const require = createRequire(import.meta.url);
const hsmPath = path.join(root, 'dist/cjs/hsm/pkcs11.js');
const { Pkcs11Provider } = require(hsmPath) as typeof import('../dist/cjs/hsm/pkcs11');
const hsmErrors = require(path.join(root, 'dist/cjs/hsm/errors.js')) as typeof import('../dist/cjs/hsm/errors');
type Provider = import('../dist/cjs/hsm/pkcs11').Pkcs11Provider;

let hsm: SoftHsm;
const open: Provider[] = [];

async function provider(extra: { pool?: number; pin?: string } = {}): Promise<Provider> {
  const p = await Pkcs11Provider.open({ module: hsm.module, tokenLabel: hsm.tokenLabel, pin: hsm.pin, ...extra });
  open.push(p);
  return p;
}

/** A secret key with a known value, created in the token as another tool would (C_CreateObject). */
async function importKey(p: Provider, label: string, value: Uint8Array, opts: { aes?: boolean; wrap?: boolean; sign?: boolean } = {}): Promise<void> {
  await p.withSession(({ pkcs11, module: m, session }) => {
    const t: { type: number; value: unknown }[] = [
      { type: m.CKA_CLASS, value: m.CKO_SECRET_KEY },
      { type: m.CKA_KEY_TYPE, value: opts.aes === false ? m.CKK_GENERIC_SECRET : m.CKK_AES },
      { type: m.CKA_TOKEN, value: true },
      { type: m.CKA_PRIVATE, value: true },
      { type: m.CKA_SENSITIVE, value: true },
      { type: m.CKA_LABEL, value: label },
      { type: m.CKA_VALUE, value: Buffer.from(value) },
    ];
    if (opts.aes !== false)
      t.push(
        { type: m.CKA_WRAP, value: opts.wrap ?? true },
        { type: m.CKA_UNWRAP, value: true },
        { type: m.CKA_ENCRYPT, value: true },
        { type: m.CKA_DECRYPT, value: true },
      );
    if (opts.sign) t.push({ type: m.CKA_SIGN, value: true }, { type: m.CKA_VERIFY, value: true });
    pkcs11.C_CreateObject(session, t);
  });
}

beforeAll(() => {
  hsm = createSoftHsm(); // sets SOFTHSM2_CONF before any provider initializes the module
});

afterAll(async () => {
  for (const p of open) await p.close();
  hsm?.remove();
});

describe('PKCS#11 bridge (SoftHSM2)', () => {
  test('without pkcs11js -> ERR_BACKEND naming `npm install pkcs11js`', async () => {
    // The package entry exports the bridge without loading pkcs11js.
    expect(T.Pkcs11Provider).toBe(Pkcs11Provider);
    hsmErrors._setPkcs11Loader(() => {
      throw Object.assign(new Error("Cannot find module 'pkcs11js'"), { code: 'MODULE_NOT_FOUND' });
    });
    try {
      const e = await rejects(Pkcs11Provider.open({ module: hsm.module, tokenLabel: hsm.tokenLabel, pin: hsm.pin }));
      expect(e.code).toBe('ERR_BACKEND');
      expect(e.message).toMatch(/npm install pkcs11js/);
    } finally {
      hsmErrors._setPkcs11Loader(undefined);
    }
    // A process where require('pkcs11js') really fails: the package still loads, the bridge says what to install.
    const script = `
      const M = require('node:module');
      const resolve = M._resolveFilename;
      M._resolveFilename = function (r, ...a) {
        if (r === 'pkcs11js') throw Object.assign(new Error("Cannot find module 'pkcs11js'"), { code: 'MODULE_NOT_FOUND' });
        return resolve.call(this, r, ...a);
      };
      const T = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))});
      T.aead.seal('aes-256-gcm', new Uint8Array(32), new Uint8Array(12), new Uint8Array(1));
      T.Pkcs11Provider.open({ module: '/nonexistent.so', tokenLabel: 't', pin: '1' }).then(
        () => console.log('opened'),
        (e) => console.log(JSON.stringify({ code: e.code, message: e.message })),
      );
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { code: string; message: string };
    expect(out.code).toBe('ERR_BACKEND');
    expect(out.message).toMatch(/npm install pkcs11js/);
  });

  test('generate / find / reopen a persistent KEK (token, sensitive, non-extractable)', async () => {
    const p = await provider();
    expect(p.tokenLabel).toBe(hsm.tokenLabel);
    expect(await p.has('kek-persist')).toBe(false);
    await p.generateKek({ label: 'kek-persist', id: new Uint8Array([1, 2, 3]) });
    expect(await p.has('kek-persist')).toBe(true);
    expect(await p.has({ id: new Uint8Array([1, 2, 3]) })).toBe(true);
    const attrs = await p.withSession(({ pkcs11, module: m, session }) => {
      pkcs11.C_FindObjectsInit(session, [{ type: m.CKA_LABEL, value: 'kek-persist' }]);
      const [h] = pkcs11.C_FindObjects(session, 2);
      pkcs11.C_FindObjectsFinal(session);
      const a = pkcs11.C_GetAttributeValue(session, h, [
        { type: m.CKA_TOKEN },
        { type: m.CKA_SENSITIVE },
        { type: m.CKA_EXTRACTABLE },
        { type: m.CKA_WRAP },
        { type: m.CKA_UNWRAP },
        { type: m.CKA_VALUE_LEN },
        { type: m.CKA_KEY_TYPE },
      ]) as { value: Buffer }[];
      return { flags: a.slice(0, 5).map((x) => x.value[0]), len: a[5]!.value.readUInt32LE(0), type: a[6]!.value.readUInt32LE(0), aes: m.CKK_AES };
    });
    expect(attrs.flags).toEqual([1, 1, 0, 1, 1]);
    expect(attrs.len).toBe(32);
    expect(attrs.type).toBe(attrs.aes);
    // The key value never leaves the token.
    const leak = await rejects(
      p.withSession(({ pkcs11, module: m, session }) => {
        pkcs11.C_FindObjectsInit(session, [{ type: m.CKA_LABEL, value: 'kek-persist' }]);
        const [h] = pkcs11.C_FindObjects(session, 1);
        pkcs11.C_FindObjectsFinal(session);
        return pkcs11.C_GetAttributeValue(session, h, [{ type: m.CKA_VALUE }]);
      }),
    );
    expect(leak.code).toBe('ERR_PKCS11');
    expect(leak.message).toMatch(/CKR_ATTRIBUTE_SENSITIVE/);
    expect((await rejects(p.generateKek({ label: 'kek-persist' }))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(p.kek({ label: 'no-such-key' }))).message).toMatch(/no secret key labelled 'no-such-key'/);

    const dk = randomBytes(32);
    const wrapped = await p.wrap('kek-persist', dk);
    const k = await p.kek({ label: 'kek-persist' });
    // The id is the key's RFC 7512 URI; the former id form still names it.
    expect(k.id).toBe(`pkcs11:serial=${encodeURIComponent(p.serial)};object=kek-persist;type=secret-key`);
    expect(k.formerIds).toEqual([`pkcs11:${p.serial}:kek-persist`]);
    const byUri = T.kek.fromUri(k.id, { hsm: p });
    expect(byUri.id).toBe(k.id);
    expect(Buffer.from(await byUri.unwrap(wrapped))).toEqual(dk);
    await p.close();
    expect((await rejects(p.wrap('kek-persist', dk))).code).toBe('ERR_DISPOSED');
    // A new provider (the module finalized and initialized again) finds the key again.
    const q = await provider();
    expect(Buffer.from(await q.unwrap('kek-persist', wrapped))).toEqual(dk);
    const k2 = await q.kek({ label: 'kek-persist', create: true });
    expect(k2.id).toBe(k.id);
    expect(Buffer.from(await k2.unwrap(await k2.wrap(dk)))).toEqual(dk);
    await q.close();
  });

  test('CKM_AES_KEY_WRAP_PAD is byte-identical to keywrap.wrapPad under the same key (key made outside the bridge)', async () => {
    const p = await provider();
    const kekValue = randomBytes(32);
    await importKey(p, 'kek-known', kekValue);
    const kp = await p.kek({ label: 'kek-known' }); // found by label, used as is
    for (const n of [8, 16, 24, 32, 40, 64, 256]) {
      const dk = randomBytes(n);
      const hw = await kp.wrap(dk);
      const sw = T.keywrap.wrapPad(kekValue, dk);
      expect(Buffer.from(hw).toString('hex'), `length ${n}`).toBe(Buffer.from(sw).toString('hex'));
      expect(Buffer.from(await kp.unwrap(sw))).toEqual(dk);
      expect(Buffer.from(T.keywrap.unwrapPad(kekValue, hw))).toEqual(dk);
    }
    // SoftHSM2 answers a failed AES-KWP integrity check with CKR_GENERAL_ERROR,
    // which cannot be told from a device fault: ERR_PKCS11_DEVICE, never ERR_AUTH.
    const sw = T.keywrap.wrapPad(kekValue, randomBytes(32));
    for (const i of [0, 7, 8, sw.length - 1]) {
      const bad = Uint8Array.from(sw);
      bad[i]! ^= 1;
      const e = await rejects(kp.unwrap(bad));
      expect(e.code, `byte ${i}`).toBe('ERR_PKCS11_DEVICE');
      expect(e.message).toMatch(/^unwrap: the token reported a general error \(CKR_GENERAL_ERROR\)/);
      expect((e as { ckr?: string }).ckr).toBe('CKR_GENERAL_ERROR');
    }
    // Another KEK cannot unwrap it (the same answer).
    await p.generateKek({ label: 'kek-other' });
    expect((await rejects(p.unwrap('kek-other', sw))).code).toBe('ERR_PKCS11_DEVICE');
    expect((await rejects(kp.unwrap(sw.subarray(0, 20)))).code).toBe('ERR_FORMAT');
    expect((await rejects(kp.wrap(new Uint8Array(5)))).code).toBe('ERR_ARGUMENT');
    expect((await rejects(kp.wrap('x' as never))).code).toBe('ERR_ARGUMENT');
  });

  test('AES-GCM in the token: 128-bit tag (software AES-GCM reads it); tampered / wrong AAD -> ERR_PKCS11_DEVICE (SoftHSM2), too short -> ERR_AUTH', async () => {
    const p = await provider();
    const keyValue = randomBytes(32);
    await importKey(p, 'gcm-known', keyValue);
    const aad = Buffer.from('row 17');
    for (const n of [1, 16, 100, 4096]) {
      const pt = randomBytes(n);
      const sealed = await p.encrypt('gcm-known', pt, { aad });
      expect(sealed.length).toBe(12 + n + 16);
      expect(Buffer.from(await p.decrypt('gcm-known', sealed, { aad }))).toEqual(pt);
      const d = createDecipheriv('aes-256-gcm', keyValue, sealed.subarray(0, 12));
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      expect(Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()])).toEqual(pt);
    }
    // Software output decrypts in the token.
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', keyValue, iv);
    const body = Buffer.concat([c.update('hello hsm'), c.final(), c.getAuthTag()]);
    expect(Buffer.from(await p.decrypt('gcm-known', Buffer.concat([iv, body]))).toString()).toBe('hello hsm');

    // SoftHSM2 answers a failed tag check with CKR_GENERAL_ERROR, which cannot
    // be told from a device fault: ERR_PKCS11_DEVICE, never ERR_AUTH.
    const sealed = await p.encrypt('gcm-known', Buffer.from('attack at dawn'), { aad });
    const device = (e: Awaited<ReturnType<typeof rejects>>, what: string) => {
      expect(e.code, what).toBe('ERR_PKCS11_DEVICE');
      expect(e.message, what).toMatch(/^decrypt: the token reported a general error \(CKR_GENERAL_ERROR\)/);
    };
    for (const i of [0, 11, 12, sealed.length - 17, sealed.length - 16, sealed.length - 1]) {
      const bad = Uint8Array.from(sealed);
      bad[i]! ^= 0x80;
      device(await rejects(p.decrypt('gcm-known', bad, { aad })), `byte ${i}`);
    }
    device(await rejects(p.decrypt('gcm-known', sealed, { aad: Buffer.from('row 18') })), 'other AAD');
    device(await rejects(p.decrypt('gcm-known', sealed)), 'no AAD');
    device(await rejects(p.decrypt('gcm-known', sealed.subarray(0, sealed.length - 1), { aad })), 'one byte short');
    // Too short to hold an IV and a tag: the bridge itself says ERR_AUTH.
    for (const len of [0, 27]) expect((await rejects(p.decrypt('gcm-known', sealed.subarray(0, len), { aad }))).code, `length ${len}`).toBe('ERR_AUTH');
    // The sessions are still usable after the failures.
    expect(Buffer.from(await p.decrypt('gcm-known', sealed, { aad })).toString()).toBe('attack at dawn');
  });

  test('HMAC-SHA256 in the token equals software HMAC; verify', async () => {
    const p = await provider();
    const keyValue = randomBytes(32);
    await importKey(p, 'hmac-known', keyValue, { aes: false, sign: true });
    const data = Buffer.from('alice@example.com');
    const mac = await p.sign('hmac-known', data);
    expect(Buffer.from(mac)).toEqual(createHmac('sha256', keyValue).update(data).digest());
    expect(await p.verify('hmac-known', data, mac)).toBe(true);
    expect(await p.verify('hmac-known', Buffer.from('bob@example.com'), mac)).toBe(false);
    await p.generateHmacKey({ label: 'hmac-gen' });
    const m1 = await p.sign('hmac-gen', data);
    expect(Buffer.from(await p.sign('hmac-gen', data))).toEqual(Buffer.from(m1));
    expect(Buffer.from(m1)).not.toEqual(Buffer.from(mac));
  });

  test('CKR_GENERAL_ERROR is ERR_PKCS11_DEVICE from every call; only explicit failure codes are ERR_AUTH (unwrap, decrypt)', async () => {
    const util = require(path.join(root, 'dist/cjs/hsm/util.js')) as typeof import('../dist/cjs/hsm/util');
    const general = hsmErrors.pkcs11Error(new Error('C_Encrypt failed: CKR_GENERAL_ERROR'), 'encrypt');
    expect([general.code, general.message, (general as { ckr?: string }).ckr]).toEqual([
      'ERR_PKCS11_DEVICE',
      'encrypt: the token reported a general error (CKR_GENERAL_ERROR)',
      'CKR_GENERAL_ERROR',
    ]);
    expect(hsmErrors.pkcs11Error(new Error('CKR_FUNCTION_FAILED'), 'sign').code).toBe('ERR_PKCS11');
    expect(T.ErrorCodes).toContain('ERR_PKCS11_DEVICE');
    // What unwrap and decrypt turn into ERR_AUTH: explicit answers only.
    for (const ckr of ['CKR_ENCRYPTED_DATA_INVALID', 'CKR_WRAPPED_KEY_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE', 'CKR_WRAPPED_KEY_LEN_RANGE'])
      expect(util.AUTH_FAILED.has(ckr), ckr).toBe(true);
    for (const ckr of ['CKR_GENERAL_ERROR', 'CKR_FUNCTION_FAILED', 'CKR_DEVICE_ERROR']) expect(util.AUTH_FAILED.has(ckr), ckr).toBe(false);
    // Through a provider (the escape hatch normalizes like every call), and
    // by number once pkcs11js is loaded (CKR_GENERAL_ERROR = 5).
    const p = await provider();
    expect(hsmErrors.pkcs11Error(Object.assign(new Error('native error'), { code: 5 }), 'sign').code).toBe('ERR_PKCS11_DEVICE');
    const e = await rejects(
      p.withSession(() => {
        throw new Error('C_Foo failed: CKR_GENERAL_ERROR');
      }),
    );
    expect([e.code, e.message]).toEqual(['ERR_PKCS11_DEVICE', 'withSession: the token reported a general error (CKR_GENERAL_ERROR)']);
  });

  test('wrong PIN -> ERR_PKCS11_PIN; unknown token -> ERR_PKCS11; a key without CKA_WRAP -> ERR_PKCS11 naming the CKR', async () => {
    // Nobody logged in: the token itself refuses the PIN.
    for (const q of open.splice(0)) await q.close();
    const e = await rejects(Pkcs11Provider.open({ module: hsm.module, tokenLabel: hsm.tokenLabel, pin: 'not-the-pin' }));
    expect(e.code).toBe('ERR_PKCS11_PIN');
    expect(e.message).toMatch(/CKR_PIN_INCORRECT/);
    expect(e.message).not.toContain('not-the-pin');
    // Another provider of this process is logged in (the login is shared: the
    // token answers CKR_USER_ALREADY_LOGGED_IN): a wrong PIN is still refused.
    await provider();
    const e2 = await rejects(Pkcs11Provider.open({ module: hsm.module, tokenLabel: hsm.tokenLabel, pin: 'not-the-pin' }));
    expect(e2.code).toBe('ERR_PKCS11_PIN');
    expect(e2.message).not.toContain('not-the-pin');
    const t = await rejects(Pkcs11Provider.open({ module: hsm.module, tokenLabel: 'no-such-token', pin: hsm.pin }));
    expect(t.code).toBe('ERR_PKCS11');
    expect(t.message).toMatch(/CKR_TOKEN_NOT_PRESENT/);
    const m = await rejects(Pkcs11Provider.open({ module: path.join(hsm.dir, 'missing.so'), tokenLabel: hsm.tokenLabel, pin: hsm.pin }));
    expect(m.code).toBe('ERR_PKCS11');

    const p = await provider();
    await importKey(p, 'no-wrap', randomBytes(32), { wrap: false });
    const w = await rejects(p.wrap('no-wrap', randomBytes(32)));
    expect(w.code).toBe('ERR_PKCS11');
    expect(w.message).toMatch(/CKR_KEY_FUNCTION_NOT_PERMITTED/);
    // Raw pkcs11js errors through the escape hatch are normalized too.
    const raw = await rejects(
      p.withSession(({ pkcs11, module: mo, session }) => pkcs11.C_GetAttributeValue(session, Buffer.alloc(8), [{ type: mo.CKA_LABEL }])),
    );
    expect(raw.code).toBe('ERR_PKCS11');
    expect(raw.message).toMatch(/CKR_OBJECT_HANDLE_INVALID/);
  });

  test('1000 concurrent wrap/unwrap over a pool of 4 sessions: zero errors, exclusive checkout, event loop responsive', async () => {
    const p = await provider({ pool: 4 });
    const kp = await p.kek({ label: 'kek-load', create: true });
    // Exclusive checkout: no session is ever handed to two callers at once.
    const busy = new Set<string>();
    let overlaps = 0;
    await Promise.all(
      Array.from({ length: 40 }, () =>
        p.withSession(async ({ session }) => {
          const k = session.toString('hex');
          if (busy.has(k)) overlaps++;
          busy.add(k);
          await new Promise((r) => setTimeout(r, 2));
          busy.delete(k);
        }),
      ),
    );
    expect(overlaps).toBe(0);
    expect(p.sessions).toBe(4);

    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 5);
    const t0 = performance.now();
    const keys = Array.from({ length: 1000 }, () => randomBytes(32));
    let results: PromiseSettledResult<boolean>[];
    try {
      results = await Promise.allSettled(keys.map(async (dk) => Buffer.from(await kp.unwrap(await kp.wrap(dk))).equals(dk)));
    } finally {
      clearInterval(timer);
    }
    const ms = performance.now() - t0;
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    expect(failed.slice(0, 3)).toEqual([]);
    expect(results.every((r) => r.status === 'fulfilled' && r.value)).toBe(true);
    expect(p.sessions).toBe(4);
    console.log(`1000 wrap+unwrap over 4 sessions: ${ms.toFixed(0)} ms, ${ticks} timer ticks, max event-loop gap ${maxGap.toFixed(1)} ms`);
    expect(ticks).toBeGreaterThan(0);
    expect(maxGap).toBeLessThan(Math.max(250, ms / 4));
  });

  test('close() while calls are in flight waits for all of them (no crash); later calls -> ERR_DISPOSED', async () => {
    const p = await provider({ pool: 2 });
    await p.generateKek({ label: 'kek-close' });
    let settled = 0;
    const ops = Array.from({ length: 200 }, (_, i) => {
      const dk = randomBytes(32);
      const op = i % 2 ? p.wrap('kek-close', dk).then((w) => p.unwrap('kek-close', w).catch(() => dk)) : p.encrypt('kek-close', dk);
      return op.finally(() => settled++);
    });
    const closing = p.close();
    expect(settled).toBe(0);
    await closing;
    // Every call queued before close() ran to completion before C_Finalize.
    const started = ops.length;
    const results = await Promise.allSettled(ops);
    expect(settled).toBe(started);
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBe(started);
    expect((await rejects(p.encrypt('kek-close', new Uint8Array(1)))).code).toBe('ERR_DISPOSED');
    await p.close(); // idempotent
  });

  test('initialization is reference-counted across providers; after re-initialization handles are looked up again', async () => {
    const a = await provider();
    const b = await provider({ pool: 1 });
    await a.generateKek({ label: 'kek-shared' });
    const dk = randomBytes(32);
    const w = await a.wrap('kek-shared', dk);
    await a.close(); // b still holds the module: no C_Finalize
    expect(Buffer.from(await b.unwrap('kek-shared', w))).toEqual(dk);
    const kb = await b.kek({ label: 'kek-shared' });
    await b.close(); // last one: C_Finalize
    const c = await provider();
    expect(Buffer.from(await c.unwrap('kek-shared', w))).toEqual(dk);
    // A handle that went stale is looked up again.
    c.invalidate();
    expect(Buffer.from(await c.unwrap('kek-shared', await c.wrap('kek-shared', dk)))).toEqual(dk);
    expect((await rejects(kb.wrap(dk))).code).toBe('ERR_DISPOSED');
    await c.close();
  });

  test('a keyring whose KEK lives in the HSM survives a process restart', () => {
    const dir = fs.mkdtempSync(path.join(hsm.dir, 'ring-'));
    const file = path.join(dir, 'keyring.json');
    const script = `
      const { Keyring, FileKeyStore } = require(${JSON.stringify(path.join(root, 'dist/cjs/index.js'))});
      const { Pkcs11Provider } = require(${JSON.stringify(hsmPath)});
      (async () => {
        const [mode, file, msg] = process.argv.slice(1);
        const hsm = await Pkcs11Provider.open({ module: process.env.HSM_MODULE, tokenLabel: process.env.HSM_TOKEN, pin: process.env.HSM_PIN });
        const kek = await hsm.kek({ label: 'ring-kek', create: mode === 'create' });
        const ring = await Keyring.open(new FileKeyStore(file), { kek });
        let out;
        if (mode === 'create') out = Buffer.from(await ring.encrypt('pii', Buffer.from(msg))).toString('base64');
        else out = Buffer.from(await ring.decrypt(Buffer.from(msg, 'base64'))).toString();
        await ring.close();
        await hsm.close();
        process.stdout.write(JSON.stringify({ out, kekId: kek.id }));
      })().catch((e) => { process.stderr.write(String(e && e.stack || e) + ' ' + (e && e.code)); process.exit(1); });
    `;
    const env = { ...hsm.env, HSM_MODULE: hsm.module, HSM_TOKEN: hsm.tokenLabel, HSM_PIN: hsm.pin };
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, ['-e', script, ...args], { env, encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0) throw new Error(`child ${args[0]} failed (status ${r.status}, ${r.signal}): ${r.stderr}`);
      return JSON.parse(r.stdout) as { out: string; kekId: string };
    };
    const one = run('create', file, 'card 4111-1111-1111-1111');
    expect(one.kekId).toMatch(/^pkcs11:serial=[^;]+;object=ring-kek;type=secret-key$/);
    const stored = fs.readFileSync(file, 'utf8');
    expect(stored).toContain(one.kekId);
    expect(stored).not.toContain('4111');
    const two = run('open', file, one.out);
    expect(two.out).toBe('card 4111-1111-1111-1111');
    expect(two.kekId).toBe(one.kekId);
  });
});
