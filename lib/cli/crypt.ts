/**
 * `tessera encrypt|decrypt <in> <out>`: files in the TSRF envelope (docs/API.md "Command line")
 * around Cobblestone, `-` for stdin/stdout. File outputs are
 * atomic (temp file, fsync, rename); a stdout output is a stream, so on a
 * failure part of the plaintext may already have been written (every byte of
 * it authenticated), and the exit status says the whole did not verify.
 */
import * as fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { decodeEnvelope, type EnvelopeHeader, encodeEnvelope, ENVELOPE_FIXED, envelopeLength } from '../chunked/envelope';
import { type FileProgress, openHandle, openInput, sealHandle } from '../chunked/file';
import { type Input, readChunks, readFull, stdinInput } from '../chunked/io';
import { createDecryptStream, createEncryptStream } from '../chunked/node-stream';
import { resolve, type Suite, SUITES } from '../chunked/options';
import { TesseraError } from '../errors';
import { deriveKey, kdfFromRecord, type KdfParams, kdfParams, SCRYPT_DEFAULTS } from '../keys/kdf';
import { CliError, EXIT, type KeySource, passphrase, rawKey } from './keys';

export interface CryptArgs {
  mode: 'encrypt' | 'decrypt';
  input: string;
  output: string;
  key: KeySource;
  suite: Suite;
  threads: number | undefined;
  quiet: boolean;
  force: boolean;
}

const isPass = (k: KeySource) => k.kind === 'passphrase' || k.kind === 'passphrase-env';
const keyLen = (suite: Suite) => (suite === 'cobblestone-128' ? 16 : 32);

/** The key for a new file, and the header that says how to get it back. */
async function keyForEncrypt(a: CryptArgs): Promise<[Buffer, EnvelopeHeader]> {
  if (!isPass(a.key)) return [rawKey(a.key, keyLen(a.suite)), { suite: a.suite, key: 'raw' }];
  const pass = await passphrase(a.key, true);
  try {
    const params = kdfParams({ kdf: 'scrypt', ...SCRYPT_DEFAULTS });
    const key = await deriveKey(pass, params, keyLen(a.suite));
    const { N, r, p } = SCRYPT_DEFAULTS;
    return [key, { suite: a.suite, kdf: { alg: 'scrypt', N, r, p, salt: Buffer.from(params.salt).toString('base64') } }];
  } finally {
    pass.fill(0);
  }
}

function badHeader(what: string): never {
  throw new TesseraError('ERR_FORMAT', `TSRF header: ${what}`);
}

/** The key for an existing file, as its header describes. */
async function keyForDecrypt(a: CryptArgs, h: EnvelopeHeader): Promise<[Buffer, Suite]> {
  const suite = h.suite as Suite;
  if (!SUITES.includes(suite)) badHeader('unknown suite');
  const kdf = h.kdf as Record<string, unknown> | null | undefined;
  if (kdf === undefined) {
    if (h.key !== 'raw') badHeader('no key description');
    if (isPass(a.key)) throw new CliError(EXIT.key, 'this file was encrypted with a key, not a passphrase (use --key-file or --key-env)');
    return [rawKey(a.key, keyLen(suite)), suite];
  }
  if (!isPass(a.key)) throw new CliError(EXIT.key, 'this file was encrypted with a passphrase (use --passphrase or --passphrase-env)');
  // The same bounds as every stored KDF record (lib/keys/kdf.ts), so that a
  // hostile header cannot ask for unbounded memory or time; TSRF headers
  // name scrypt only.
  if (kdf === null || typeof kdf !== 'object' || kdf.alg !== 'scrypt') badHeader('unsupported key derivation parameters');
  let params: KdfParams;
  try {
    params = kdfFromRecord(kdf, 'TSRF header');
  } catch {
    badHeader('unsupported key derivation parameters');
  }
  if (params.salt.length > 64) badHeader('bad scrypt salt');
  const pass = await passphrase(a.key, false);
  try {
    return [await deriveKey(pass, params, keyLen(suite)), suite];
  } finally {
    pass.fill(0);
  }
}

function progressBar(quiet: boolean, total: number | undefined): ((p: FileProgress) => void) | undefined {
  if (quiet || !process.stderr.isTTY || total === undefined || total < 16 * 1024 * 1024) return undefined;
  const start = process.hrtime.bigint();
  let last = 0;
  return ({ bytes }) => {
    const now = Date.now();
    if (now - last < 100 && bytes < total) return;
    last = now;
    const frac = Math.min(1, bytes / total);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const rate = secs > 0 ? bytes / secs / 1e6 : 0;
    const width = 30;
    const fill = Math.round(frac * width);
    process.stderr.write(`\r[${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${rate.toFixed(0)} MB/s`);
    if (bytes >= total) process.stderr.write('\n');
  };
}

async function checkOutput(a: CryptArgs): Promise<void> {
  if (a.output === '-' || a.force) return;
  if (fs.existsSync(a.output)) throw new CliError(EXIT.io, `${a.output} exists (use --force to replace it)`);
}

export async function crypt(a: CryptArgs, signal: AbortSignal): Promise<void> {
  await checkOutput(a);
  // `-` is read from where stdin stands, as a stream (size unknown).
  const [input, size]: [Input, number | undefined] = a.input === '-' ? [stdinInput(), undefined] : await openInput(a.input);
  const toStdout = a.output === '-';
  const opts = { signal, onProgress: toStdout ? undefined : progressBar(a.quiet, size) };
  let key: Buffer | undefined;
  try {
    if (a.mode === 'encrypt') {
      const [k, header] = await keyForEncrypt(a);
      key = k;
      const prefix = encodeEnvelope(header);
      const r = resolve(key, { context: prefix, suite: a.suite, threads: a.threads });
      if (!toStdout) return await sealHandle(input, size, a.output, r, opts, { prefix });
      process.stdout.write(prefix);
      await pipeline(
        Readable.from(readChunks(input, size === undefined ? null : 0)),
        createEncryptStream(key, { context: prefix, suite: a.suite, threads: a.threads }),
        stdoutSink(),
        { signal },
      );
      return;
    }
    // Decrypt: the envelope first (sequential reads work for pipes and files).
    const fixed = Buffer.alloc(ENVELOPE_FIXED);
    if ((await readFull(input, fixed, null)) < ENVELOPE_FIXED) throw new TesseraError('ERR_FORMAT', 'not a tessera file (too short)');
    const prefix = Buffer.alloc(envelopeLength(fixed));
    fixed.copy(prefix);
    if ((await readFull(input, prefix.subarray(ENVELOPE_FIXED), null)) < prefix.length - ENVELOPE_FIXED)
      throw new TesseraError('ERR_FORMAT', 'TSRF envelope cut short');
    const [k, suite] = await keyForDecrypt(a, decodeEnvelope(prefix));
    key = k;
    const r = resolve(key, { context: prefix, suite, threads: a.threads });
    if (!toStdout) return await openHandle(input, size, a.output, r, opts, { skip: prefix.length });
    const from = size === undefined ? null : prefix.length; // streams continue where the envelope ended
    await pipeline(Readable.from(readChunks(input, from)), createDecryptStream(key, { context: prefix, suite, threads: a.threads }), stdoutSink(), { signal });
  } finally {
    key?.fill(0);
    await input.close().catch(() => undefined);
  }
}

/** stdout as a pipeline destination that is never closed (later writes by the runtime stay valid). */
function stdoutSink(): Writable {
  return new Writable({
    write(chunk, _enc, cb) {
      if (process.stdout.write(chunk)) cb();
      else process.stdout.once('drain', () => cb());
    },
    final(cb) {
      cb();
    },
  });
}
