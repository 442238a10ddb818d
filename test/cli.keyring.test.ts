/**
 * `tessera keyring ...` (lib/cli/keyring.ts) as users run it: the real bin,
 * dist/cjs/cli/main.js, spawned with process.execPath; keyrings in a temp dir.
 *
 * - init with --passphrase-env records the scrypt parameters in the keyring
 *   document (kekParams, MAC-covered), refuses an existing keyring (exit 5,
 *   file unchanged); status --json lists the purposes' primaries;
 * - rotate changes the primary (old one decrypt-only);
 * - reencrypt moves tsr1. lines and a binary message made with the old
 *   primary (by the library) onto the new primary, keeps already-moved ones,
 *   and the library opens the results; a tampered line is exit 4 with
 *   nothing written;
 * - a wrong passphrase is exit 3 with one line on stderr;
 * - the terminal prompt (python3 pty) asks twice on init, never echoes;
 * - export-public prints the public key of an RSA KEK and refuses (exit 3)
 *   for a symmetric one; --key-file keyrings work; bad usage is exit 2.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { runOnPty } from './pty';

const require = createRequire(import.meta.url);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'dist', 'cjs', 'cli', 'main.js');
const lib = () => require('../dist/cjs/index.js') as typeof import('../dist/cjs/index');

interface Result {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function run(args: string[], o: { env?: Record<string, string>; input?: Buffer; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const cp = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: [o.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => cp.kill('SIGKILL'), 30_000);
    cp.stdout!.on('data', (c: Buffer) => out.push(c));
    cp.stderr!.on('data', (c: Buffer) => err.push(c));
    if (o.input) cp.stdin!.end(o.input);
    cp.on('error', reject);
    cp.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
    });
  });
}
const why = (r: Result) => `exit ${r.code}; stderr: ${r.stderr.trim() || '(empty)'}`;
async function ok(args: string[], o: Parameters<typeof run>[1] = {}): Promise<Result> {
  const r = await run(args, o);
  expect(r.code, why(r)).toBe(0);
  return r;
}
/** A failure: the code, and exactly one line on stderr (no usage text unless usage). */
async function fails(code: number, args: string[], o: Parameters<typeof run>[1] = {}): Promise<string> {
  const r = await run(args, o);
  expect(r.code, why(r)).toBe(code);
  if (code !== 2) expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  return r.stderr;
}

let base: string;
let seq = 0;
const fresh = () => {
  const d = path.join(base, `t${++seq}`);
  fs.mkdirSync(d);
  return d;
};
beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-cli-keyring-'));
});
afterAll(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

const PASS = 'correct horse battery staple 42';
const PENV = { KR_PASS: PASS };
const PE = ['--passphrase-env', 'KR_PASS'];

/** The library's keyring on the same store: the passphrase alone (Keyring.open re-derives under the document's kekParams). */
async function openLib(file: string) {
  const T = lib();
  return T.Keyring.open(new T.FileKeyStore(file), { kek: await T.kek.fromPassphrase(PASS) });
}

describe('tessera keyring with a passphrase from the environment', () => {
  let dir: string;
  let ks: string;
  beforeAll(() => {
    dir = fresh();
    ks = path.join(dir, 'keys.json');
  });

  test('init records scrypt params in the document, refuses to re-init; status --json', async () => {
    const r = await ok(['keyring', 'init', ks, '--purpose', 'user-data', '--purpose', 'files', ...PE], { env: PENV });
    expect(r.stdout.toString()).toMatch(/created keyring/);
    const doc = JSON.parse(fs.readFileSync(ks, 'utf8'));
    expect(doc.kekParams).toMatchObject({ alg: 'scrypt', N: 131072, r: 8, p: 1 });
    expect(Buffer.from(doc.kekParams.salt, 'base64')).toHaveLength(16);
    expect(doc.kekId).toMatch(/^scrypt-kwp:/);
    expect(JSON.stringify(doc)).not.toContain(PASS);

    const before = fs.readFileSync(ks);
    const e = await fails(5, ['keyring', 'init', ks, ...PE], { env: PENV });
    expect(e).toMatch(/already holds a keyring/);
    expect(fs.readFileSync(ks).equals(before)).toBe(true);

    const st = JSON.parse((await ok(['keyring', 'status', ks, '--json', ...PE], { env: PENV })).stdout.toString());
    expect(Object.keys(st.purposes).sort()).toEqual(['files', 'user-data']);
    expect(st.keys).toHaveLength(2);
    for (const k of st.keys) expect(k).toMatchObject({ state: 'active', primary: true, encrypted: 0, decrypted: 0 });

    const table = (await ok(['keyring', 'status', ks, ...PE], { env: PENV })).stdout.toString();
    expect(table).toMatch(/ID\s+PURPOSE\s+STATE\s+PRIMARY\s+AGE/);
    expect(table).toContain('user-data');
  });

  test('init --kdf pbkdf2-sha256: the document records PBKDF2, the other commands read it back; a bad --kdf is exit 2', async () => {
    const f = path.join(fresh(), 'pbkdf2.json');
    await ok(['keyring', 'init', f, '--purpose', 'p', '--kdf', 'pbkdf2-sha256', ...PE], { env: PENV });
    const doc = JSON.parse(fs.readFileSync(f, 'utf8'));
    expect(doc.kekParams).toMatchObject({ alg: 'pbkdf2-sha256', iterations: 600_000 });
    expect(doc.kekId).toMatch(/^pbkdf2-kwp:/);
    const st = JSON.parse((await ok(['keyring', 'status', f, '--json', ...PE], { env: PENV })).stdout.toString());
    expect(Object.keys(st.purposes)).toEqual(['p']);
    await fails(3, ['keyring', 'status', f, ...PE], { env: { KR_PASS: 'not it' } });
    const ring = await openLib(f);
    await ring.close();
    expect(await fails(2, ['keyring', 'init', path.join(path.dirname(f), 'x.json'), '--kdf', 'md5', ...PE], { env: PENV })).toMatch(/--kdf must be one of/);
    expect(await fails(2, ['keyring', 'init', path.join(path.dirname(f), 'y.json'), '--kdf', 'scrypt', '--key-env', 'K'], { env: PENV })).toMatch(
      /passphrase KEK only/,
    );
    expect(fs.existsSync(path.join(path.dirname(f), 'x.json'))).toBe(false);
  });

  test('wrong passphrase: exit 3, one line, store unchanged', async () => {
    const before = fs.readFileSync(ks);
    const e = await fails(3, ['keyring', 'status', ks, ...PE], { env: { KR_PASS: 'not it' } });
    expect(e).toMatch(/wrong passphrase/);
    expect(e).not.toContain('not it');
    expect(fs.readFileSync(ks).equals(before)).toBe(true);
    await fails(3, ['keyring', 'rotate', ks, 'user-data', ...PE], { env: { KR_PASS: 'not it' } });
  });

  test('rotate changes the primary; reencrypt moves old messages (text lines and binary)', async () => {
    // Messages under the current primary, made with the library.
    const ring = await openLib(ks);
    const oldPrimary = ring.status().find((k) => k.purpose === 'user-data' && k.primary)!.id;
    const pts = ['alpha', 'beta', ''].map((s) => Buffer.from(s));
    const lines = await Promise.all(pts.map((p) => ring.aead('user-data').encryptToString(p)));
    const bin = await ring.aead('files').encrypt(Buffer.from('binary payload'));
    await ring.close();

    const rot = await ok(['keyring', 'rotate', ks, 'user-data', ...PE], { env: PENV });
    expect(rot.stdout.toString()).toContain(`was ${oldPrimary}`);
    const st = JSON.parse((await ok(['keyring', 'status', ks, '--json', ...PE], { env: PENV })).stdout.toString());
    const ud = st.keys.filter((k: any) => k.purpose === 'user-data');
    expect(ud).toHaveLength(2);
    const newPrimary = ud.find((k: any) => k.primary).id;
    expect(newPrimary).not.toBe(oldPrimary);
    expect(ud.find((k: any) => k.id === oldPrimary).state).toBe('decrypt-only');
    await fails(2, ['keyring', 'rotate', ks, 'no-such-purpose', ...PE], { env: PENV });

    // Text: file in, file out; a blank line is kept.
    fs.writeFileSync(path.join(dir, 'in.txt'), `${lines[0]}\n\n${lines[1]}\n${lines[2]}\n`);
    const re = await ok(['keyring', 'reencrypt', ks, '--in', path.join(dir, 'in.txt'), '--out', path.join(dir, 'out.txt'), ...PE], { env: PENV });
    expect(re.stderr).toMatch(/reencrypted 3 messages: 3 moved/);
    const outLines = fs.readFileSync(path.join(dir, 'out.txt'), 'utf8').split('\n');
    expect(outLines[1]).toBe('');
    const T = lib();
    const moved = [outLines[0]!, outLines[2]!, outLines[3]!];
    for (const m of moved) expect(T.parseHeader(Buffer.from(m.slice(5), 'base64url')).keyId).toBe(newPrimary);

    // stdin -> stdout; a second pass leaves them where they are.
    const again = await ok(['keyring', 'reencrypt', ks, ...PE], { env: PENV, input: Buffer.from(moved.join('\n')) });
    expect(again.stdout.toString()).toBe(moved.join('\n'));
    expect(again.stderr).toMatch(/0 moved/);

    // Binary message of the 'files' purpose (its primary did not change): unchanged.
    fs.writeFileSync(path.join(dir, 'm.bin'), bin);
    const b = await ok(['keyring', 'reencrypt', ks, '--in', path.join(dir, 'm.bin'), ...PE], { env: PENV });
    expect(b.stdout.equals(Buffer.from(bin))).toBe(true);

    // The library opens the moved messages.
    const ring2 = await openLib(ks);
    for (let i = 0; i < 3; i++) expect(Buffer.from(await ring2.decryptString(moved[i]!)).equals(pts[i]!)).toBe(true);
    // A binary message under the old primary moves too.
    await ring2.close();

    // Existing output refused; tampered line: exit 4, nothing written.
    await fails(5, ['keyring', 'reencrypt', ks, '--in', path.join(dir, 'in.txt'), '--out', path.join(dir, 'out.txt'), ...PE], { env: PENV });
    const t = Buffer.from(moved[0]!.slice(5), 'base64url');
    t[t.length - 1]! ^= 1;
    fs.writeFileSync(path.join(dir, 'bad.txt'), `${moved[1]}\ntsr1.${t.toString('base64url')}\n`);
    const e = await fails(4, ['keyring', 'reencrypt', ks, '--in', path.join(dir, 'bad.txt'), '--out', path.join(dir, 'bad.out'), ...PE], { env: PENV });
    expect(e).toMatch(/line 2/);
    expect(fs.existsSync(path.join(dir, 'bad.out'))).toBe(false);
  });

  test('binary message under an old primary moves; a message of another keyring is exit 3', async () => {
    const ring = await openLib(ks);
    const pd = ring.status().find((k) => k.purpose === 'files' && k.primary)!.id;
    const msg = await ring.aead('files').encrypt(Buffer.from('bin 2'));
    await ring.close();
    await ok(['keyring', 'rotate', ks, 'files', ...PE], { env: PENV });
    const r = await ok(['keyring', 'reencrypt', ks, ...PE], { env: PENV, input: Buffer.from(msg) });
    const T = lib();
    expect(T.parseHeader(r.stdout).keyId).not.toBe(pd);
    const ring2 = await openLib(ks);
    expect(Buffer.from(await ring2.aead().decrypt(r.stdout)).toString()).toBe('bin 2');
    await ring2.close();

    using other = T.AeadKey.generate('xaes-256-gcm', { keyId: 7 });
    const foreign = Buffer.from(other.seal(Buffer.from('x')));
    const e = await fails(3, ['keyring', 'reencrypt', ks, ...PE], { env: PENV, input: foreign });
    expect(e).toMatch(/no key with id 7/);
  });

  test('export-public refuses a symmetric KEK (exit 3); no keyring is exit 5; usage is exit 2', async () => {
    const e = await fails(3, ['keyring', 'export-public', ks]);
    expect(e).toMatch(/no public part/);
    await fails(5, ['keyring', 'status', path.join(dir, 'missing.json'), ...PE], { env: PENV });
    expect(fs.existsSync(path.join(dir, 'missing.json'))).toBe(false);
    for (const args of [
      ['keyring'],
      ['keyring', 'frob', ks],
      ['keyring', 'status'],
      ['keyring', 'rotate', ks],
      ['keyring', 'status', ks, '--bogus'],
      ['keyring', 'status', ks, '--key-env', 'A', ...PE],
    ]) {
      const r = await run(args, { env: PENV });
      expect(r.code, `${args.join(' ')}: ${why(r)}`).toBe(2);
      expect(r.stderr).toContain('usage:');
    }
    expect((await ok(['--help'])).stdout.toString()).toContain('tessera keyring init');
  });
});

describe('tessera keyring with key files', () => {
  test('--key-file keyring: init, status; wrong key file is exit 3', async () => {
    const dir = fresh();
    const kf = path.join(dir, 'kek');
    fs.writeFileSync(kf, randomBytes(32).toString('hex'), { mode: 0o600 });
    const ks = path.join(dir, 'k.json');
    await ok(['keyring', 'init', ks, '--purpose', 'a', '--key-file', kf]);
    expect(JSON.parse(fs.readFileSync(ks, 'utf8')).kekParams).toBeUndefined();
    const st = JSON.parse((await ok(['keyring', 'status', ks, '--json', '--key-file', kf])).stdout.toString());
    expect(st.keys).toHaveLength(1);
    const kf2 = path.join(dir, 'kek2');
    fs.writeFileSync(kf2, randomBytes(32), { mode: 0o600 });
    expect(await fails(3, ['keyring', 'status', ks, '--key-file', kf2])).toMatch(/wrong passphrase or key/);
    // A passphrase for a key-file keyring: exit 3 with the reason.
    expect(await fails(3, ['keyring', 'status', ks, ...PE], { env: PENV })).toMatch(/not a passphrase/);
    // A key file others can read: exit 3.
    fs.chmodSync(kf, 0o644);
    await fails(3, ['keyring', 'status', ks, '--key-file', kf]);
  });

  test('RSA KEK: export-public prints the public key PEM', async () => {
    const dir = fresh();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = path.join(dir, 'rsa.pem');
    fs.writeFileSync(pem, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const ks = path.join(dir, 'k.json');
    await ok(['keyring', 'init', ks, '--purpose', 'p', '--rsa-key', pem]);
    const r = await ok(['keyring', 'export-public', ks, '--rsa-key', pem]);
    expect(r.stdout.toString().trim()).toBe(String(publicKey.export({ type: 'spki', format: 'pem' })).trim());
    expect(r.stdout.toString()).not.toContain('PRIVATE');
    expect(await fails(3, ['keyring', 'export-public', ks])).toMatch(/--rsa-key/);
  });
});

// ---------------------------------------------------------------- terminal prompt

/** Runs the CLI on a pseudo-terminal (test/pty.ts), typing `inputs` at its passphrase prompts. */
const onPty = (dir: string, inputs: string[], args: string[]) => runOnPty(dir, inputs, [process.execPath, BIN, ...args], 30);

describe('passphrase prompt on a terminal', () => {
  test('init asks twice and never echoes; the same passphrase works from the environment; mismatch is exit 3', async () => {
    const dir = fresh();
    const ks = path.join(dir, 'k.json');
    const mis = await onPty(dir, [`${PASS}\r`, `${PASS}x\r`], ['keyring', 'init', ks]);
    expect(mis.code, mis.screen).toBe(3);
    expect(mis.screen).toMatch(/do not match/);
    expect(fs.existsSync(ks)).toBe(false);

    const r = await onPty(dir, [`${PASS}\r`, `${PASS}\r`], ['keyring', 'init', ks, '--purpose', 'x']);
    expect(r.code, r.screen).toBe(0);
    expect(r.screen).toContain('Passphrase: ');
    expect(r.screen).toContain('Passphrase (again): ');
    expect(r.screen).not.toContain(PASS.slice(0, 8));
    const st = JSON.parse((await ok(['keyring', 'status', ks, '--json', ...PE], { env: PENV })).stdout.toString());
    expect(st.keys[0].purpose).toBe('x');

    const s = await onPty(dir, [`${PASS}\r`], ['keyring', 'status', ks]);
    expect(s.code, s.screen).toBe(0);
    expect(s.screen.match(/Passphrase/g)?.length).toBe(1);
  });
});
