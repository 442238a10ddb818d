/**
 * Where the CLI gets its key: a key file, an environment variable, or a
 * passphrase (prompted on the terminal, or from an environment variable for
 * scripts) stretched with scrypt. Raw keys are 32 bytes (cobblestone-256) or
 * 16 (cobblestone-128), given as raw bytes, hex or base64.
 */
import * as fs from 'node:fs';
import * as tty from 'node:tty';

import { decodeKeyText } from '../keys/kek';

export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const EXIT = { usage: 2, key: 3, input: 4, io: 5, interrupted: 130 } as const;

export type KeySource =
  | { kind: 'file'; path: string }
  | { kind: 'env'; name: string }
  | { kind: 'passphrase' } // prompt
  | { kind: 'passphrase-env'; name: string };

/** A key given as text: hex or base64 of exactly `len` bytes. */
// One parser for key text (hex or base64, surrounding whitespace), shared
// with kek.fromKeyFile / kek.fromEnv (lib/keys/kek.ts).
function decodeKey(text: Uint8Array, len: number, where: string): Buffer {
  const k = decodeKeyText(text, len);
  if (!k) throw new CliError(EXIT.key, `${where}: expected a ${len}-byte key as raw bytes, ${2 * len} hex digits or base64`);
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength);
}

export function rawKey(src: KeySource, len: number): Buffer {
  if (src.kind === 'file') {
    let data: Buffer;
    try {
      data = fs.readFileSync(src.path);
    } catch (e) {
      throw new CliError(EXIT.key, `cannot read key file ${src.path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (data.length === len) return data;
    try {
      return decodeKey(data, len, `key file ${src.path}`);
    } finally {
      data.fill(0);
    }
  }
  if (src.kind === 'env') {
    const v = process.env[src.name];
    if (v === undefined || v === '') throw new CliError(EXIT.key, `environment variable ${src.name} is not set`);
    return decodeKey(Buffer.from(v, 'latin1'), len, `environment variable ${src.name}`);
  }
  throw new CliError(EXIT.key, 'internal: not a raw key source');
}

export async function passphrase(src: KeySource, confirm: boolean): Promise<Buffer> {
  if (src.kind === 'passphrase-env') {
    const v = process.env[src.name];
    if (v === undefined || v === '') throw new CliError(EXIT.key, `environment variable ${src.name} is not set`);
    return Buffer.from(v, 'utf8');
  }
  const first = await prompt('Passphrase: ');
  if (first.length === 0) throw new CliError(EXIT.key, 'empty passphrase');
  if (confirm) {
    const again = await prompt('Passphrase (again): ');
    if (!again.equals(first)) throw new CliError(EXIT.key, 'passphrases do not match');
    again.fill(0);
  }
  return first;
}

/** Reads a line from the controlling terminal with echo off (stdin may carry the data). */
function prompt(question: string): Promise<Buffer> {
  let fd: number;
  try {
    fd = fs.openSync('/dev/tty', 'r+');
  } catch {
    return Promise.reject(new CliError(EXIT.usage, 'no terminal for the passphrase prompt; use --passphrase-env NAME or a key'));
  }
  const input = new tty.ReadStream(fd);
  const output = new tty.WriteStream(fd);
  input.setRawMode(true); // echo off before the prompt shows
  output.write(question);
  return new Promise((resolve, reject) => {
    const bytes: number[] = [];
    const done = (err?: Error) => {
      input.setRawMode(false);
      input.removeAllListeners('data');
      input.destroy();
      output.write('\n');
      output.destroy();
      if (err) {
        bytes.fill(0);
        reject(err);
      } else {
        const b = Buffer.from(bytes);
        bytes.fill(0);
        resolve(b);
      }
    };
    input.on('data', (chunk: Buffer) => {
      for (const c of chunk) {
        if (c === 0x0d || c === 0x0a) return done();
        if (c === 0x03) return done(new CliError(EXIT.interrupted, 'interrupted'));
        if (c === 0x7f || c === 0x08) bytes.pop();
        else bytes.push(c);
      }
      chunk.fill(0);
    });
  });
}
