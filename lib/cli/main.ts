#!/usr/bin/env node
/**
 * `tessera` command.
 *   tessera encrypt <in> <out> (--key-file F | --key-env NAME | --passphrase | --passphrase-env NAME)
 *                   [--suite cobblestone-256|cobblestone-128] [--threads N] [--quiet] [--force]
 *   tessera decrypt <in> <out> (same key options; the suite comes from the file)
 *   tessera db rotate <database> --keyring <store> --purpose <purpose> [--json] KEK
      rotates a SQLCipher database's key (needs better-sqlite3-multiple-ciphers); run it again after an interruption
  tessera bench [--quick | --ci] ...   run the benchmark suite (bench/run.mjs, from a clone)
 *   tessera selftest          seal/open every algorithm once on the active backend
 *   tessera version
 *   tessera keyring init|status|rotate|reencrypt|export-public STORE ... (lib/cli/keyring.ts)
 *   tessera db rotate DATABASE --keyring STORE --purpose P ... (lib/cli/db.ts)
 * `-` is stdin / stdout. Exit codes: 0 ok, 1 unexpected failure, 2 bad usage,
 * 3 bad key (unreadable, wrong size, wrong key or passphrase), 4 input not a
 * valid tessera file (tampered, truncated, not ours), 5 I/O error, 130 interrupted.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { packageRoot } from '../backend/package-root';
import { type Suite, SUITES } from '../chunked/options';
import { ALGORITHMS, AeadKey, backend, nativeKernels, secureMemoryStats, TesseraError } from '../index';
import { crypt, type CryptArgs } from './crypt';
import { db, type DbArgs, dbFailure, parseDb } from './db';
import { keyring, keyringFailure, parseKeyring, storeName } from './keyring';
import { CliError, EXIT, type KeySource } from './keys';

const USAGE = `usage:
  tessera encrypt <in> <out> KEY [--suite cobblestone-256|cobblestone-128] [--threads N] [--quiet] [--force]
  tessera decrypt <in> <out> KEY [--threads N] [--quiet] [--force]
      KEY is one of: --key-file FILE | --key-env NAME | --passphrase | --passphrase-env NAME
      <in>/<out> may be - for stdin/stdout
  tessera keyring init <store> [--purpose P ...] [--kdf scrypt|pbkdf2-sha256|argon2id] KEK
  tessera keyring status <store> [--json] KEK
  tessera keyring rotate <store> <purpose> KEK
  tessera keyring reencrypt <store> [--in FILE|-] [--out FILE|-] [--force] KEK
  tessera keyring export-public <store> [--rsa-key FILE]
      <store> is a keyring file or a postgres:// / postgresql:// URL
      KEK is one of: --passphrase (default: prompt) | --passphrase-env NAME | --key-file FILE | --key-env NAME | --rsa-key FILE
  tessera bench [--quick | --ci] [--only SECTION] [--node PATH] [--out DIR] [--compare FILE]
  tessera selftest
  tessera version
`;

function usage(code: number): never {
  (code ? process.stderr : process.stdout).write(USAGE);
  process.exit(code);
}

function selftest(): void {
  for (const alg of ALGORITHMS) {
    using key = AeadKey.generate(alg);
    const msg = new TextEncoder().encode(`tessera selftest ${alg}`);
    const sealed = key.seal(msg);
    const opened = key.open(sealed);
    if (Buffer.compare(Buffer.from(opened), Buffer.from(msg)) !== 0) throw new Error(`${alg}: round trip mismatch`);
    sealed[sealed.length - 1]! ^= 1;
    try {
      key.open(sealed);
      throw new Error(`${alg}: tampered message opened`);
    } catch (e) {
      if (!(e instanceof TesseraError) || e.code !== 'ERR_AUTH') throw e;
    }
    console.log(`ok ${alg}`);
  }
  console.log(`backend ${backend()}; kernels ${JSON.stringify(nativeKernels())}; secure memory ${JSON.stringify(secureMemoryStats())}`);
}

function parseCrypt(mode: 'encrypt' | 'decrypt', args: string[]): CryptArgs {
  const pos: string[] = [];
  const keys: KeySource[] = [];
  let suite: Suite = 'cobblestone-256';
  let threads: number | undefined;
  let quiet = false;
  let force = false;
  const bad = (m: string): never => {
    throw new CliError(EXIT.usage, m);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => args[++i] ?? bad(`${a} needs a value`);
    if (a === '-' || !a.startsWith('-')) pos.push(a);
    else if (a === '--key-file') keys.push({ kind: 'file', path: value() });
    else if (a === '--key-env') keys.push({ kind: 'env', name: value() });
    else if (a === '--passphrase') keys.push({ kind: 'passphrase' });
    else if (a === '--passphrase-env') keys.push({ kind: 'passphrase-env', name: value() });
    else if (a === '--suite') {
      const s = value();
      if (mode === 'decrypt') bad('--suite is for encrypt (decrypt reads it from the file)');
      if (!SUITES.includes(s as Suite)) bad(`unknown suite ${s} (expected ${SUITES.join(' or ')})`);
      suite = s as Suite;
    } else if (a === '--threads') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1 || n > 64) bad('--threads takes an integer from 1 to 64');
      threads = n;
    } else if (a === '--quiet' || a === '-q') quiet = true;
    else if (a === '--force' || a === '-f') force = true;
    else bad(`unknown option ${a}`);
  }
  if (pos.length !== 2) bad(`${mode} takes <in> and <out>`);
  if (keys.length !== 1) bad('give exactly one of --key-file, --key-env, --passphrase, --passphrase-env');
  return { mode, input: pos[0]!, output: pos[1]!, key: keys[0]!, suite, threads, quiet, force };
}

/** Exit code and message for a failure; messages never carry key bytes or plaintext. */
function failure(e: unknown): [number, string] {
  if (e instanceof CliError) return [e.exitCode, e.message];
  if (e instanceof TesseraError) {
    switch (e.code) {
      case 'ERR_COMMITMENT':
        return [EXIT.key, 'wrong key or passphrase (or the file header was altered)'];
      case 'ERR_KEY_LENGTH':
        return [EXIT.key, e.message];
      case 'ERR_AUTH':
      case 'ERR_TRUNCATED':
      case 'ERR_FORMAT':
        return [EXIT.input, `input is not a valid tessera file: ${e.message}`];
      case 'ERR_IO':
        return [EXIT.io, e.message];
      case 'ERR_ABORTED':
        return [EXIT.interrupted, 'interrupted; no output file was written'];
      default:
        return [1, `${e.code}: ${e.message}`];
    }
  }
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ABORT_ERR' || err?.name === 'AbortError') return [EXIT.interrupted, 'interrupted'];
  if (err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) return [EXIT.io, err.message];
  return [1, String((e as Error)?.stack ?? e)];
}

async function runCrypt(mode: 'encrypt' | 'decrypt', args: string[]): Promise<void> {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.stdout.on('error', (e) => {
    process.stderr.write(`tessera ${mode}: stdout: ${e.message}\n`);
    process.exit(EXIT.io);
  });
  try {
    await crypt(parseCrypt(mode, args), ac.signal);
  } catch (e) {
    const [code, msg] = failure(e);
    process.stderr.write(`tessera ${mode}: ${msg}\n`);
    if (code === EXIT.usage) process.stderr.write(USAGE);
    process.exitCode = code;
  }
}

async function runKeyring(args: string[]): Promise<void> {
  const sub = args[0] && !args[0].startsWith('-') ? args[0] : 'keyring';
  let label = 'the key store';
  try {
    const a = parseKeyring(args);
    label = storeName(a.store);
    await keyring(a);
  } catch (e) {
    const [code, msg] = keyringFailure(e, label);
    process.stderr.write(`tessera keyring ${sub}: ${msg}\n`);
    if (code === EXIT.usage) process.stderr.write(USAGE);
    process.exitCode = code;
  }
}

async function runDb(args: string[]): Promise<void> {
  let a: DbArgs | undefined;
  try {
    a = parseDb(args);
    await db(a);
  } catch (e) {
    const [code, msg] = dbFailure(e, a);
    process.stderr.write(`tessera db rotate: ${msg}\n`);
    if (code === EXIT.usage) process.stderr.write(USAGE);
    process.exitCode = code;
  }
}

function main(argv: string[]): void {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'encrypt':
    case 'decrypt':
      void runCrypt(cmd, rest);
      return;
    case 'keyring':
      void runKeyring(rest);
      return;
    case 'db':
      void runDb(rest);
      return;
    case 'bench': {
      const script = path.join(packageRoot(), 'bench', 'run.mjs');
      if (!fs.existsSync(script)) {
        // The suite compares tessera with peers (sodium-native, @noble/ciphers,
        // libsodium-wrappers) that are dev dependencies: it runs from a clone.
        console.error(
          'tessera bench: the benchmark suite is not part of the installed package; it runs from a clone of the repository,\n' +
            'where its peers are installed as dev dependencies:\n' +
            '  git clone <tessera repository> && cd tessera && npm ci && npx tessera bench --quick\n' +
            '(see docs/BENCHMARKS.md in the repository)',
        );
        process.exit(2);
      }
      const r = spawnSync(process.execPath, ['--expose-gc', script, ...rest], { stdio: 'inherit' });
      process.exit(r.status ?? 1);
      return; // not reached (process.exit); ends the case for ESLint's no-fallthrough
    }
    case 'selftest':
      return selftest();
    case 'version':
      console.log(JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version);
      return;
    case '-h':
    case '--help':
      return usage(0);
    default:
      return usage(2);
  }
}

main(process.argv.slice(2));
