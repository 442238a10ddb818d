/**
 * The front layer over an engine (docs/ARCHITECTURE.md "The front layer"):
 * the Backend that lib/ uses, the same code whichever engine is under it.
 * The raw API's checks live here; keys and Cobblestone handles get their
 * fronts (key.ts, chunked.ts).
 */
import { TesseraError } from '../errors';
import { nonceLengthOf } from '../format';
import type { AlgId, Backend, ChunkedHandle, Engine, KeyHandle, SuiteId } from '../backend/types';
import { bufferOf, bytes, checkAad, checkLen, EMPTY, integer, partialOverlap, spans, tooSmall } from './args';
import { FrontChunked } from './chunked';
import { FrontKey, POOLED_MAX, pooledOutput } from './key';

const TAG = 16;
const U64_MAX = (1n << 64n) - 1n;

/** An algorithm id as a number (ToInt32), 1 to 4. */
function algOf(v: unknown): AlgId {
  const id = typeof v === 'number' ? v | 0 : 0;
  if (id !== 1 && id !== 2 && id !== 3 && id !== 4) throw new TesseraError('ERR_ALGORITHM', 'unknown algorithm');
  return id;
}

interface RawArgs {
  alg: AlgId;
  key: Uint8Array;
  nonce: Uint8Array;
  input: Uint8Array;
  aad: Uint8Array;
  n: number;
}

/** The raw call's arguments in order; with `out`, its buffer ob read (and checked) first by the caller. */
function rawArgs(
  seal: boolean,
  algv: unknown,
  keyv: unknown,
  noncev: unknown,
  inputv: unknown,
  aadv: unknown,
  out?: Uint8Array,
  ob?: ArrayBufferLike,
): RawArgs {
  const alg = algOf(algv);
  const key = bytes(keyv, 'key');
  checkLen(key, 32, 'ERR_KEY_LENGTH', 'key');
  const nonce = bytes(noncev, 'nonce');
  checkLen(nonce, nonceLengthOf(alg), 'ERR_NONCE_LENGTH', 'nonce');
  const ib = bufferOf(inputv, seal ? 'plaintext' : 'sealed');
  const input = inputv as Uint8Array;
  const ab = bufferOf(aadv, 'aad', true);
  const aad = (aadv as Uint8Array | undefined) ?? EMPTY;
  if (!seal && input.length < TAG) throw new TesseraError('ERR_FORMAT', `sealed input must be at least 16 bytes (the tag), got ${input.length}`);
  const n = seal ? input.length + TAG : input.length - TAG;
  if (out !== undefined && ob !== undefined) {
    // The caller's out: n bytes at least, in place only from the input's first byte, never over the aad.
    const o = out;
    if (o.length < n) throw tooSmall(n, o.length);
    if (ob === ib && spans(o.byteOffset, o.length, input.byteOffset, input.length) && o.byteOffset !== input.byteOffset) throw partialOverlap();
    checkAad(o, ob, aad, ab);
  }
  return { alg, key, nonce, input, aad, n };
}

const engines = new WeakMap<Backend, Engine>();

/** The engine under a front (test hooks reach raw mode and engine keys through it). */
export function engineOf(b: Backend): Engine {
  const e = engines.get(b);
  if (!e) throw new TesseraError('ERR_BACKEND', 'not a front-layer backend');
  return e;
}

export function frontBackend(e: Engine): Backend {
  const b: Backend = {
    name: e.name,
    rawSeal(alg, key, nonce, plaintext, aad) {
      const a = rawArgs(true, alg, key, nonce, plaintext, aad);
      // Small outputs in Node's Buffer pool, as FrontKey.seal does (ciphertext only).
      if (a.input.length <= POOLED_MAX) {
        const out = pooledOutput(a.n);
        e.rawSealInto(out, a.alg, a.key, a.nonce, a.input, a.aad);
        return out;
      }
      return e.rawSeal(a.alg, a.key, a.nonce, a.input, a.aad);
    },
    rawOpen(alg, key, nonce, sealed, aad) {
      const a = rawArgs(false, alg, key, nonce, sealed, aad);
      return e.rawOpen(a.alg, a.key, a.nonce, a.input, a.aad);
    },
    rawSealInto(out, alg, key, nonce, plaintext, aad) {
      const a = rawArgs(true, alg, key, nonce, plaintext, aad, out, bufferOf(out, 'out'));
      return e.rawSealInto(out, a.alg, a.key, a.nonce, a.input, a.aad);
    },
    rawOpenInto(out, alg, key, nonce, sealed, aad) {
      const a = rawArgs(false, alg, key, nonce, sealed, aad, out, bufferOf(out, 'out'));
      return e.rawOpenInto(out, a.alg, a.key, a.nonce, a.input, a.aad);
    },
    createKey(alg: AlgId, key: Uint8Array | undefined, keyId: number, nonceLimit: bigint): KeyHandle {
      const id = algOf(alg);
      const k = key === undefined || key === null ? undefined : bytes(key, 'key');
      if (typeof keyId !== 'number' || !Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff)
        throw new TesseraError('ERR_ARGUMENT', 'keyId must be a uint32');
      if (typeof nonceLimit !== 'bigint' || nonceLimit < 0n || nonceLimit > U64_MAX)
        throw new TesseraError('ERR_ARGUMENT', 'nonceLimit must be a bigint between 0 and 2^64 - 1');
      if (k) checkLen(k, 32, 'ERR_KEY_LENGTH', 'key');
      return new FrontKey(e, e.createKey(id, k, keyId), id, keyId, nonceLimit);
    },
    createChunked(suite: SuiteId, key: Uint8Array | KeyHandle, salt: Uint8Array, context: Uint8Array): ChunkedHandle {
      return new FrontChunked(e, suite, key, salt, context, false, (s, k, sa, c) => e.createChunked(s, k, sa, c));
    },
    chunkedOpenedLength(n: number): number {
      return e.chunkedOpenedLength(integer(n, 'ciphertext length', Number.MAX_SAFE_INTEGER));
    },
    pool(size?: number) {
      return e.pool(size === undefined ? undefined : integer(size, 'threads', 64));
    },
    allocOutput: (n) => e.allocOutput(n),
    outputMemory(limit?: number) {
      if (limit !== undefined && !(typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 0))
        throw new TesseraError('ERR_ARGUMENT', 'limit must be a non-negative integer number of bytes');
      return e.outputMemory(limit);
    },
    secureAlloc(n: number) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1 << 20)
        throw new TesseraError('ERR_ARGUMENT', 'SecureBuffer size must be an integer from 1 to 1048576');
      return e.secureAlloc(n);
    },
    secureDispose: (buffer, handle) => e.secureDispose(buffer, handle),
    secureMemoryStats: () => e.secureMemoryStats(),
    kernels: () => e.kernels(),
    setKernel: (name) => e.setKernel(name),
  };
  engines.set(b, e);
  return b;
}

/** A Cobblestone handle in raw mode (test builds: the derived AEAD key and base nonce, no commitment). */
export function frontChunkedRaw(
  e: Engine,
  suite: SuiteId,
  aeadKey: Uint8Array,
  baseNonce: Uint8Array,
  make: ConstructorParameters<typeof FrontChunked>[6],
): ChunkedHandle {
  return new FrontChunked(e, suite, aeadKey, baseNonce, undefined, true, make);
}
