/**
 * FileKeyStore (lib/keys/file-store.ts; docs/API.md "Key manager"): one file,
 * key material encrypted under the KEK, metadata authenticated; writes go
 * to a temp file, fsync, rename, fsync of the directory; an exclusive lock
 * keeps two processes from writing at once; the previous generation is
 * kept as a backup. A child process killed with SIGKILL at random points
 * during 200 rotations leaves a store that opens and holds every rotation
 * the child had acknowledged. A wrong passphrase is ERR_KEK, a tampered
 * key store file ERR_FORMAT (and the store is not overwritten).
 *
 * Proves: no plaintext key bytes in the file; wrong KEK -> ERR_KEK;
 * a flipped byte in metadata / in wrapped key material / a truncated file
 * -> ERR_FORMAT with the file byte-identical afterwards (also after a
 * write was attempted); a missing file next to a .bak is refused; .bak is
 * the previous generation; optimistic concurrency (ERR_CONFLICT, and two
 * keyrings on one file both land their rotations); the lock refuses a
 * second writer held by a live child process (ERR_LOCKED) and recovers
 * from a stale lock of a dead pid and from an empty old lock file; no
 * temp files left; SIGKILL crash test at several random points.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { childLines, root, T } from './tessera';

let dir: string;
let n = 0;
const fresh = () => path.join(dir, `ring-${n++}.json`);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-keystore-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function codeOfAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof T.TesseraError ? e.code : `not a TesseraError: ${String(e)}`;
  }
  return 'no error';
}

/** A store with purposes a and b, a rotated once; returns the master key. */
async function populated(file: string): Promise<Buffer> {
  const mk = randomBytes(32);
  const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
  await ring.createPurpose('a');
  await ring.createPurpose('b');
  await ring.rotate('a');
  await ring.close();
  return mk;
}

const dist = JSON.stringify(path.join(root, 'dist/cjs/index.js'));
const fileStoreModule = JSON.stringify(path.join(root, 'dist/cjs/keys/file-store.js'));

describe('FileKeyStore', () => {
  test('key material is only stored wrapped; mode 0600; the document has the documented shape', async () => {
    const file = fresh();
    const mk = randomBytes(32);
    const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
    const id = await ring.createPurpose('user-data');
    // Compare against the real key bytes, exported through the keyring's KEK path.
    const exported = await ring.exportKey(id, T.kek.fromKey(mk));
    const raw = T.keywrap.unwrapPad(mk, exported.wrapped);
    await ring.close();
    const text = fs.readFileSync(file, 'utf8');
    const bytes = fs.readFileSync(file);
    for (const enc of ['hex', 'base64', 'base64url'] as const) expect(text).not.toContain(Buffer.from(raw).toString(enc));
    expect(bytes.includes(Buffer.from(raw))).toBe(false);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(text);
    expect(doc).toMatchObject({ format: 'tessera-keyring', version: 1, kekId: T.kek.fromKey(mk).id });
    expect(doc.mac).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.keys).toHaveLength(1);
    expect(doc.keys[0]).toMatchObject({ id, purpose: 'user-data', state: 'active', algorithm: 'xaes-256-gcm' });
    expect(Buffer.from(T.keywrap.unwrapPad(mk, Buffer.from(doc.keys[0].wrapped, 'base64'))).equals(Buffer.from(raw))).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tessera-tmp') || f.endsWith('.lock'))).toEqual([]);
  });

  test('wrong KEK -> ERR_KEK, and the store is unchanged', async () => {
    const file = fresh();
    await populated(file);
    const before = fs.readFileSync(file);
    expect(await codeOfAsync(T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(randomBytes(32)) }))).toBe('ERR_KEK');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  const tamperings: [string, (text: string) => string][] = [
    ['a state in metadata', (t) => t.replace('"decrypt-only"', '"active"')],
    ['a use count', (t) => t.replace('"encrypted": 0', '"encrypted": 1')],
    ['a policy', (t) => t.replace('"policy": {}', '"policy": {"maxMessages": 5}')],
    ['a key id', (t) => t.replace(/"id": (\d+)/, (_, d) => `"id": ${Number(d) ^ 1}`)],
    ['one byte of wrapped key material', (t) => t.replace(/"wrapped": "(.)/, (_, c) => `"wrapped": "${c === 'A' ? 'B' : 'A'}`)],
    ['the generation', (t) => t.replace(/"generation": (\d+)/, (_, d) => `"generation": ${Number(d) + 1}`)],
    ['truncation', (t) => t.slice(0, Math.floor(t.length / 2))],
    ['truncation to nothing', () => ''],
  ];
  for (const [what, edit] of tamperings) {
    test(`tampered store (${what}) -> ERR_FORMAT; the file is never overwritten`, async () => {
      const file = fresh();
      const mk = await populated(file);
      // A keyring opened before the tampering must not overwrite it either.
      const early = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
      const text = fs.readFileSync(file, 'utf8');
      const bad = edit(text);
      expect(bad).not.toBe(text);
      fs.writeFileSync(file, bad);
      expect(await codeOfAsync(T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) }))).toBe('ERR_FORMAT');
      expect(await codeOfAsync(early.rotate('a'))).toBe('ERR_FORMAT'); // the generation edit: ERR_CONFLICT, then the reload fails its MAC
      expect(await codeOfAsync(early.setState(early.status()[0]!.id, 'retired'))).not.toBe('no error');
      await early.close();
      expect(fs.readFileSync(file, 'utf8')).toBe(bad);
      expect(fs.readFileSync(`${file}.bak`, 'utf8')).not.toBe(bad);
    });
  }

  test('an altered wrapped MAC key cannot be told from a wrong KEK: ERR_KEK, file unchanged', async () => {
    const file = fresh();
    const mk = await populated(file);
    const text = fs.readFileSync(file, 'utf8').replace(/"macKey": "(.)/, (_, c) => `"macKey": "${c === 'A' ? 'B' : 'A'}`);
    fs.writeFileSync(file, text);
    expect(await codeOfAsync(T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) }))).toBe('ERR_KEK');
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  test('a missing store next to its .bak is refused instead of starting an empty keyring', async () => {
    const file = fresh();
    const mk = await populated(file);
    fs.unlinkSync(file);
    expect(await codeOfAsync(T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) }))).toBe('ERR_FORMAT');
    expect(fs.existsSync(file)).toBe(false);
  });

  test('.bak holds the previous generation', async () => {
    const file = fresh();
    const mk = randomBytes(32);
    const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
    expect(fs.existsSync(`${file}.bak`)).toBe(false); // generation 1 had no predecessor
    await ring.createPurpose('p');
    const g = JSON.parse(fs.readFileSync(file, 'utf8'));
    const id = await ring.rotate('p');
    const cur = JSON.parse(fs.readFileSync(file, 'utf8'));
    const bak = JSON.parse(fs.readFileSync(`${file}.bak`, 'utf8'));
    expect(bak).toEqual(g);
    expect(cur.generation).toBe(bak.generation + 1);
    expect(cur.keys.map((k: { id: number }) => k.id)).toContain(id);
    expect(bak.keys.map((k: { id: number }) => k.id)).not.toContain(id);
    await ring.close();
    // The backup is a valid keyring of its own: restoring it opens.
    fs.copyFileSync(`${file}.bak`, file);
    const back = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
    expect(back.generation).toBe(bak.generation);
    await back.close();
  });

  test('optimistic concurrency: a stale expected generation is ERR_CONFLICT; two keyrings on one file both land', async () => {
    const file = fresh();
    const mk = await populated(file);
    const store = new T.FileKeyStore(file);
    const doc = (await store.load())!;
    const stale = { ...doc, generation: doc.generation };
    expect(await codeOfAsync(store.commit(stale, doc.generation - 1))).toBe('ERR_CONFLICT');
    expect(await codeOfAsync(store.commit({ ...doc, generation: doc.generation + 5 }, doc.generation))).toBe('ERR_ARGUMENT');

    const r1 = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
    const r2 = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
    const ids = await Promise.all([r1.rotate('a'), r2.rotate('a'), r1.rotate('b'), r2.rotate('a')]);
    await r2.refresh();
    const keys = r2.status();
    for (const id of ids) expect(keys.map((k) => k.id)).toContain(id);
    expect(keys.filter((k) => k.purpose === 'a' && k.state === 'active')).toHaveLength(1);
    expect(keys.filter((k) => k.purpose === 'b' && k.state === 'active')).toHaveLength(1);
    expect(keys.filter((k) => k.purpose === 'a')).toHaveLength(2 + 3);
    // A message from one keyring decrypts in the other (after refresh).
    const m = await r2.encrypt('a', Buffer.from('x'));
    await r1.refresh();
    expect(Buffer.from(await r1.decrypt(m)).toString()).toBe('x');
    await r1.close();
    await r2.close();
  });
});

function spawnNode(code: string): ChildProcess {
  return spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env } });
}

const lines = childLines;

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

describe('FileKeyStore lock', () => {
  test('a child process holding the lock refuses a second writer (ERR_LOCKED); its stale lock is broken once it is dead', async () => {
    const file = fresh();
    const mk = await populated(file);
    const child = spawnNode(`
      const { FileLock } = require(${fileStoreModule});
      const l = new FileLock(${JSON.stringify(`${file}.lock`)}, 1000);
      l.acquire().then(() => console.log('locked'));
      setInterval(() => {}, 1000);`);
    await new Promise<void>((r) => lines(child, (l) => l === 'locked' && r()));
    const lock = JSON.parse(fs.readFileSync(`${file}.lock`, 'utf8'));
    expect(lock.pid).toBe(child.pid);
    const before = fs.readFileSync(file);
    const ring = await T.Keyring.open(new T.FileKeyStore(file, { lockTimeoutMs: 300 }), { kek: T.kek.fromKey(mk) });
    const t0 = Date.now();
    expect(await codeOfAsync(ring.rotate('a'))).toBe('ERR_LOCKED');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    child.kill('SIGKILL');
    await exited(child);
    expect(fs.existsSync(`${file}.lock`)).toBe(true); // left behind by the dead holder
    const id = await ring.rotate('a');
    expect(ring.status().find((k) => k.id === id)?.state).toBe('active');
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
    await ring.close();
  });

  test('an empty lock file (writer killed between create and write) is stale after a second', async () => {
    const file = fresh();
    const mk = await populated(file);
    fs.writeFileSync(`${file}.lock`, '');
    const old = new Date(Date.now() - 5000);
    fs.utimesSync(`${file}.lock`, old, old);
    const ring = await T.Keyring.open(new T.FileKeyStore(file, { lockTimeoutMs: 500 }), { kek: T.kek.fromKey(mk) });
    await ring.rotate('b');
    expect(ring.status().filter((k) => k.purpose === 'b')).toHaveLength(2);
    await ring.close();
    // A fresh empty lock (a writer that is just starting) is respected.
    fs.writeFileSync(`${file}.lock`, '');
    const ring2 = await T.Keyring.open(new T.FileKeyStore(file, { lockTimeoutMs: 200 }), { kek: T.kek.fromKey(mk) });
    expect(await codeOfAsync(ring2.rotate('b'))).toBe('ERR_LOCKED');
    fs.unlinkSync(`${file}.lock`);
    await ring2.close();
  });
});

describe('FileKeyStore crash safety', () => {
  test('SIGKILL during 200 rotations at random points: every acknowledged rotation survives', async () => {
    const kills = 4;
    const file = fresh();
    const mk = randomBytes(32);
    const acknowledged: number[] = [];
    const child = (target: number) => `
      const T = require(${dist});
      (async () => {
        const ring = await T.Keyring.open(new T.FileKeyStore(${JSON.stringify(file)}), { kek: T.kek.fromKey(Buffer.from('${mk.toString('hex')}', 'hex')) });
        if (!ring.status().some((k) => k.purpose === 'p')) await ring.createPurpose('p');
        console.log('ready');
        for (let i = 0; i < ${target}; i++) {
          const id = await ring.rotate('p');
          console.log(String(id));
        }
        await ring.close();
        console.log('done');
      })().catch((e) => { console.error(e); process.exit(3); });`;
    const killedAt: number[] = [];
    for (let k = 0; k < kills; k++) {
      const c = spawnNode(child(200));
      let seen = 0;
      const killAfter = 5 + Math.floor(Math.random() * 150);
      const delayMs = Math.random() * 8;
      await new Promise<void>((resolve, reject) => {
        c.once('exit', (code, sig) => (sig === 'SIGKILL' || code === 0 ? resolve() : reject(new Error(`child exited with ${code}`))));
        lines(c, (l) => {
          if (!/^\d+$/.test(l)) return;
          acknowledged.push(Number(l));
          if (++seen === killAfter) setTimeout(() => c.kill('SIGKILL'), delayMs);
        });
      });
      killedAt.push(seen);
      // After every kill: the store opens, verifies, and holds every acknowledged key.
      const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk) });
      const ids = new Set(ring.status().map((s) => s.id));
      for (const id of acknowledged) expect(ids.has(id)).toBe(true);
      expect(ring.status().filter((s) => s.purpose === 'p' && s.state === 'active')).toHaveLength(1);
      await ring.close();
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(kills * 5);
    // The next writer recovers from whatever lock or temp file the kill left.
    const ring = await T.Keyring.open(new T.FileKeyStore(file, { lockTimeoutMs: 2000 }), { kek: T.kek.fromKey(mk) });
    const last = await ring.rotate('p');
    expect(ring.status().find((s) => s.id === last)?.primary).toBe(true);
    await ring.close();
    const base = path.basename(file);
    expect(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tessera-tmp') && f.includes(base)),
      JSON.stringify(fs.readdirSync(dir)),
    ).toEqual([]);
    expect(new Set(killedAt).size).toBeGreaterThan(1);
  });
});
