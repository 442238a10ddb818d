/**
 * `tessera keyring init|status|rotate|reencrypt|export-public`
 * (docs/API.md "Command line").
 *
 * STORE is a file path (FileKeyStore) or a PostgreSQL URL (`postgres://` or
 * `postgresql://`: PostgresKeyStore). The KEK is one of:
 *   --passphrase (the default: prompted on the terminal with echo off, twice
 *   on init) | --passphrase-env NAME | --key-file FILE | --key-env NAME
 *   (a raw 32-byte master key, kek.fromKeyFile / fromEnv) |
 *   --rsa-key FILE (an RSA private key PEM, kek.rsa; RSA-OAEP).
 *
 * A passphrase KEK's KDF, salt and parameters live in the keyring document
 * itself (KeyringDoc.kekParams, recorded by Keyring.open on init): same file
 * or same PostgreSQL row as the keys, in the same atomic commit, and
 * covered by the document MAC. They are read before the MAC can be checked
 * (the MAC key is wrapped by the KEK), which is safe: altered parameters
 * derive another KEK, whose id does not match the document's kekId
 * (ERR_KEK, exit 3). Their cost is bounded (lib/keys/kdf.ts kdfFromRecord)
 * before any work is done.
 *
 * Exit codes (lib/cli/keys.ts EXIT): 0 ok, 2 usage, 3 KEK problem (wrong
 * passphrase or key, unreadable key, a KEK with no public part for
 * export-public, a message whose key is not in the keyring / destroyed /
 * retired), 4 invalid input (tampered key store, a message that is not a
 * valid tessera message or fails authentication), 5 I/O (no keyring at
 * STORE, init over an existing keyring, existing output without --force,
 * locked store, database errors), 130 interrupted, 1 unexpected.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TesseraError } from '../errors';
import { fromText, toText } from '../format';
import { FileKeyStore } from '../keys/file-store';
import { hasArgon2, kdfFromRecord, type KdfName } from '../keys/kdf';
import { kek as kekFactory, type KekProvider } from '../keys/kek';
import { Keyring } from '../keys/keyring';
import { PostgresKeyStore } from '../keys/pg-store';
import type { KeyringDoc, KeyStore } from '../keys/store';
import { CliError, EXIT, type KeySource, passphrase } from './keys';

export type KekSource = KeySource | { kind: 'rsa'; path: string };

export interface KeyringArgs {
  cmd: 'init' | 'status' | 'rotate' | 'reencrypt' | 'export-public';
  store: string;
  purpose?: string;
  purposes: string[];
  kek?: KekSource;
  json: boolean;
  input: string;
  output: string;
  force: boolean;
  /** init with a passphrase: the KDF (lib/keys/kdf.ts; default scrypt). */
  kdf?: KdfName;
}

const KDFS: readonly KdfName[] = ['scrypt', 'pbkdf2-sha256', 'argon2id'];

const CMDS = ['init', 'status', 'rotate', 'reencrypt', 'export-public'] as const;

/** The KEK a command-line option names (value() reads its argument), or undefined when o is not a KEK option. */
export function kekOption(o: string, value: () => string): KekSource | undefined {
  if (o === '--key-file') return { kind: 'file', path: value() };
  if (o === '--key-env') return { kind: 'env', name: value() };
  if (o === '--passphrase') return { kind: 'passphrase' };
  if (o === '--passphrase-env') return { kind: 'passphrase-env', name: value() };
  if (o === '--rsa-key') return { kind: 'rsa', path: value() };
  return undefined;
}

export const ONE_KEK = 'give at most one of --passphrase, --passphrase-env, --key-file, --key-env, --rsa-key';

export function parseKeyring(args: string[]): KeyringArgs {
  const bad = (m: string): never => {
    throw new CliError(EXIT.usage, m);
  };
  const [cmd, ...rest] = args;
  if (!CMDS.includes(cmd as KeyringArgs['cmd'])) bad(cmd === undefined ? 'keyring needs a command' : `unknown keyring command ${cmd}`);
  const pos: string[] = [];
  const keks: KekSource[] = [];
  const a: KeyringArgs = { cmd: cmd as KeyringArgs['cmd'], store: '', purposes: [], json: false, input: '-', output: '-', force: false };
  for (let i = 0; i < rest.length; i++) {
    const o = rest[i]!;
    const value = () => rest[++i] ?? bad(`${o} needs a value`);
    const kek = kekOption(o, value);
    if (o === '-' || !o.startsWith('-')) pos.push(o);
    else if (kek) keks.push(kek);
    else if (o === '--purpose' && a.cmd === 'init') a.purposes.push(value());
    else if (o === '--kdf' && a.cmd === 'init') {
      const k = value();
      if (!KDFS.includes(k as KdfName)) bad(`--kdf must be one of ${KDFS.join(', ')} (got ${k})`);
      a.kdf = k as KdfName;
    } else if (o === '--json' && a.cmd === 'status') a.json = true;
    else if (o === '--in' && a.cmd === 'reencrypt') a.input = value();
    else if (o === '--out' && a.cmd === 'reencrypt') a.output = value();
    else if ((o === '--force' || o === '-f') && a.cmd === 'reencrypt') a.force = true;
    else bad(`unknown option ${o} for keyring ${a.cmd}`);
  }
  const want = a.cmd === 'rotate' ? 2 : 1;
  if (pos.length !== want) bad(a.cmd === 'rotate' ? 'keyring rotate takes <store> <purpose>' : `keyring ${a.cmd} takes <store>`);
  a.store = pos[0]!;
  if (a.cmd === 'rotate') a.purpose = pos[1]!;
  if (keks.length > 1) bad(ONE_KEK);
  a.kek = keks[0];
  if (a.kdf !== undefined && a.kek !== undefined && a.kek.kind !== 'passphrase' && a.kek.kind !== 'passphrase-env')
    bad('--kdf applies to a passphrase KEK only');
  return a;
}

const isPg = (s: string) => /^postgres(ql)?:\/\//i.test(s);

/** A name for the store in messages (never a connection string: it may hold a password). */
function storeName(s: string): string {
  return isPg(s) ? 'the PostgreSQL key store' : s;
}

export function openStore(s: string): KeyStore {
  return isPg(s) ? new PostgresKeyStore({ connectionString: s }) : new FileKeyStore(s);
}

/** One line, whatever the error carried. */
function line(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function kekError(e: unknown, what: string): never {
  const m = e instanceof Error ? e.message : String(e);
  throw new CliError(EXIT.key, line(`${what}: ${m}`));
}

function kekKind(id: string): string {
  if (/^(scrypt|pbkdf2|argon2id)-kwp:/.test(id)) return 'a passphrase (--passphrase / --passphrase-env)';
  if (id.startsWith('aes-kwp:')) return 'a raw key (--key-file / --key-env)';
  if (id.startsWith('rsa-oaep:')) return 'an RSA key pair (--rsa-key)';
  return 'another kind of KEK';
}

/** The KEK for a new keyring (init). */
async function newKek(src: KekSource, kdf: KdfName | undefined): Promise<KekProvider> {
  if (src.kind === 'passphrase' || src.kind === 'passphrase-env') {
    if (kdf === 'argon2id' && !hasArgon2()) throw new CliError(EXIT.usage, `--kdf argon2id needs Node 24.7 or later (this is Node ${process.version})`);
    const pass = await passphrase(src, src.kind === 'passphrase');
    try {
      return await kekFactory.fromPassphrase(pass, { kdf });
    } finally {
      pass.fill(0);
    }
  }
  return rawKek(src);
}

function rawKek(src: KekSource): KekProvider {
  try {
    if (src.kind === 'file') return kekFactory.fromKeyFile(src.path);
    if (src.kind === 'env') return kekFactory.fromEnv(src.name);
    if (src.kind === 'rsa') {
      let pem: string;
      try {
        pem = fs.readFileSync(src.path, 'utf8');
      } catch (e) {
        throw new CliError(EXIT.key, `cannot read RSA key file ${src.path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      if (!pem.includes('PRIVATE KEY'))
        throw new CliError(EXIT.key, `RSA key file ${src.path}: expected an RSA private key PEM (the keyring must unwrap its keys)`);
      return kekFactory.rsa({ privateKey: pem });
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    kekError(e, 'key');
  }
  throw new CliError(EXIT.key, 'internal: not a raw key source');
}

/** The KEK for an existing keyring: a passphrase KEK is derived with the parameters the document records. */
async function existingKek(src: KekSource, doc: KeyringDoc): Promise<KekProvider> {
  if (src.kind !== 'passphrase' && src.kind !== 'passphrase-env') return rawKek(src);
  if (!doc.kekParams) throw new CliError(EXIT.key, `this keyring's KEK is not a passphrase; it needs ${kekKind(doc.kekId)}`);
  const params = kdfFromRecord(doc.kekParams, 'key store'); // bounded: a hostile document cannot ask for unbounded work
  const pass = await passphrase(src, false);
  try {
    return await kekFactory.fromPassphrase(pass, params);
  } finally {
    pass.fill(0);
  }
}

async function loadExisting(store: KeyStore, name: string): Promise<KeyringDoc> {
  const doc = await store.load();
  if (doc === undefined) throw new CliError(EXIT.io, `no keyring at ${name} (create one with tessera keyring init)`);
  return doc;
}

/** The keyring in store (named spec on the command line), opened with the KEK from src (default: a passphrase prompt). */
export async function openExisting(store: KeyStore, spec: string, src: KekSource | undefined): Promise<Keyring> {
  const doc = await loadExisting(store, storeName(spec));
  const kek = await existingKek(src ?? { kind: 'passphrase' }, doc);
  return Keyring.open(store, { kek, autoCreate: false });
}

const fmtAge = (days: number) => (days < 1 ? `${Math.round(days * 24)}h` : `${days.toFixed(1)}d`);

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(w[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

async function init(store: KeyStore, a: KeyringArgs): Promise<void> {
  if ((await store.load()) !== undefined) throw new CliError(EXIT.io, `${storeName(a.store)} already holds a keyring; init never replaces one`);
  if (!isPg(a.store) && !fs.existsSync(path.dirname(path.resolve(a.store)))) throw new CliError(EXIT.io, `directory of ${a.store} does not exist`);
  const kek = await newKek(a.kek ?? { kind: 'passphrase' }, a.kdf);
  const ring = await Keyring.open(store, { kek, autoCreate: false });
  try {
    const out = [`created keyring ${storeName(a.store)} (KEK ${kek.id})`];
    for (const p of a.purposes) out.push(`purpose ${p}: primary key ${await ring.createPurpose(p)}`);
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await ring.close();
  }
}

function status(ring: Keyring, a: KeyringArgs): void {
  const st = ring.status();
  if (a.json) {
    const keys = st.map((k) => ({ ...k, createdAt: k.createdAt.toISOString(), stateChangedAt: k.stateChangedAt.toISOString() }));
    process.stdout.write(JSON.stringify({ generation: ring.generation, purposes: ring.purposes(), keys }, null, 2) + '\n');
    return;
  }
  if (st.length === 0) {
    process.stdout.write('no keys (add a purpose with tessera keyring init --purpose, or from the library)\n');
    return;
  }
  const rows = [['ID', 'PURPOSE', 'STATE', 'PRIMARY', 'AGE', 'ENCRYPTED', 'DECRYPTED', 'ALGORITHM']];
  const sorted = [...st].sort((x, y) => x.purpose.localeCompare(y.purpose) || y.createdAt.getTime() - x.createdAt.getTime());
  for (const k of sorted)
    rows.push([String(k.id), k.purpose, k.state, k.primary ? '*' : '', fmtAge(k.ageDays), String(k.encrypted), String(k.decrypted), k.algorithm]);
  process.stdout.write(table(rows));
}

async function rotate(ring: Keyring, a: KeyringArgs): Promise<void> {
  const purpose = a.purpose!;
  if (!(purpose in ring.purposes())) throw new CliError(EXIT.usage, `no purpose ${JSON.stringify(purpose)} in this keyring`);
  const old = ring.status().find((k) => k.purpose === purpose && k.primary)?.id;
  const id = await ring.rotate(purpose);
  process.stdout.write(`rotated ${purpose}: primary key ${id} (was ${old}, now decrypt-only)\n`);
}

function readInput(p: string): Buffer {
  try {
    return fs.readFileSync(p === '-' ? 0 : p);
  } catch (e) {
    throw new CliError(EXIT.io, `cannot read ${p === '-' ? 'stdin' : p}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function writeOutput(p: string, data: Buffer, force: boolean): void {
  if (p === '-') {
    process.stdout.write(data);
    return;
  }
  if (!force && fs.existsSync(p)) throw new CliError(EXIT.io, `${p} exists (use --force to replace it)`);
  const tmp = `${p}.${process.pid}.tessera-tmp`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, p);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new CliError(EXIT.io, `cannot write ${p}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** Exit code and message of a failure on one message. */
function messageError(e: unknown, where: string): CliError {
  if (e instanceof CliError) return e;
  const code = e instanceof TesseraError ? e.code : '';
  const m = line(e instanceof Error ? e.message : String(e));
  if (code === 'ERR_KEY_MISMATCH' || code === 'ERR_KEY_DESTROYED' || code === 'ERR_KEY_RETIRED') return new CliError(EXIT.key, `${where}: ${m}`);
  if (code === 'ERR_AUTH') return new CliError(EXIT.input, `${where}: message failed authentication (tampered, or made with other associated data)`);
  if (code === 'ERR_FORMAT' || code === 'ERR_TRUNCATED' || code === 'ERR_ALGORITHM')
    return new CliError(EXIT.input, `${where}: not a valid tessera message: ${m}`);
  return new CliError(1, `${where}: ${code ? `${code}: ` : ''}${m}`);
}

/** Moves every message to its own purpose's primary key (the purpose-less AEAD primitive: ring.aead()). */
async function reencrypt(ring: Keyring, a: KeyringArgs): Promise<void> {
  const aead = ring.aead();
  const input = readInput(a.input);
  const text = input.toString('latin1');
  let out: Buffer;
  let total = 0;
  let moved = 0;
  if (/^\s*tsr1\./.test(text)) {
    // Text: one tsr1. string per line; blank lines are kept as they are.
    const lines = text.split('\n');
    const res: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      const cr = l.endsWith('\r') ? '\r' : '';
      const s = l.trim();
      if (s === '') {
        res.push(l);
        continue;
      }
      let next: string;
      try {
        const msg = fromText(s);
        const r = await aead.reencrypt(msg);
        next = toText(r);
        if (r !== msg) moved++;
      } catch (e) {
        throw messageError(e, `line ${i + 1}`);
      }
      total++;
      res.push(next + cr);
    }
    out = Buffer.from(res.join('\n'), 'latin1');
  } else {
    // Binary: the whole input is one message.
    if (input.length === 0) throw new CliError(EXIT.input, 'empty input: expected tsr1. strings (one per line) or one binary message');
    const msg = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    let r: Uint8Array;
    try {
      r = await aead.reencrypt(msg);
    } catch (e) {
      throw messageError(e, 'input');
    }
    total = 1;
    if (r !== msg) moved = 1;
    out = Buffer.from(r.buffer, r.byteOffset, r.byteLength);
  }
  writeOutput(a.output, out, a.force);
  process.stderr.write(`reencrypted ${total} message${total === 1 ? '' : 's'}: ${moved} moved to the primary key, ${total - moved} already there\n`);
}

async function exportPublic(store: KeyStore, a: KeyringArgs): Promise<void> {
  const doc = await loadExisting(store, storeName(a.store));
  if (!doc.kekId.startsWith('rsa-oaep:'))
    throw new CliError(
      EXIT.key,
      `this keyring's KEK is ${kekKind(doc.kekId)}, a symmetric key with no public part; ` +
        'an encrypt-only holder would need the KEK itself (use an RSA KEK, --rsa-key, for public-only encryption)',
    );
  if (a.kek?.kind !== 'rsa') throw new CliError(EXIT.key, 'this keyring has an RSA KEK; give its private key with --rsa-key FILE');
  const kek = rawKek(a.kek) as KekProvider & { publicKeyPem: string };
  const ring = await Keyring.open(store, { kek, autoCreate: false }); // proves the key pair is this keyring's
  await ring.close();
  process.stdout.write(kek.publicKeyPem.endsWith('\n') ? kek.publicKeyPem : `${kek.publicKeyPem}\n`);
}

/** Maps a failure to [exit code, one-line message]; never key material. */
export function keyringFailure(e: unknown, storeLabel: string): [number, string] {
  if (e instanceof CliError) return [e.exitCode, line(e.message)];
  if (e instanceof TesseraError) {
    const m = line(e.message);
    switch (e.code) {
      case 'ERR_KEK':
        return [EXIT.key, 'wrong passphrase or key for this keyring'];
      case 'ERR_KEY_LENGTH':
        return [EXIT.key, m];
      case 'ERR_FORMAT':
        return [EXIT.input, `${storeLabel} is not a valid keyring (tampered or corrupted; it was not changed): ${m}`];
      case 'ERR_IO':
      case 'ERR_LOCKED':
      case 'ERR_CONFLICT':
        return [EXIT.io, m];
      case 'ERR_ARGUMENT':
        return [EXIT.usage, m];
      case 'ERR_ABORTED':
        return [EXIT.interrupted, 'interrupted'];
      default:
        return [1, `${e.code}: ${m}`];
    }
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) return [EXIT.io, line(err.message)];
  return [1, line(String((e as Error)?.message ?? e))];
}

export async function keyring(a: KeyringArgs): Promise<void> {
  let store: KeyStore;
  try {
    store = openStore(a.store);
  } catch (e) {
    throw new CliError(EXIT.usage, line(`${storeName(a.store)}: ${(e as Error).message}`));
  }
  try {
    if (a.cmd === 'init') return await init(store, a);
    if (a.cmd === 'export-public') return await exportPublic(store, a);
    const ring = await openExisting(store, a.store, a.kek);
    try {
      if (a.cmd === 'status') status(ring, a);
      else if (a.cmd === 'rotate') await rotate(ring, a);
      else await reencrypt(ring, a);
    } finally {
      await ring.close();
    }
  } finally {
    await store.close().catch(() => undefined);
  }
}

export { storeName };
