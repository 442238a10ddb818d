/// <reference lib="esnext.disposable" preserve="true" />
/**
 * Raw AEAD (contract: `aead.seal/open/sealInto/openInto`) and AeadKey
 * (contract: random nonces, message format v1 of docs/API.md).
 *
 * Argument checks happen once, in the front layer (lib/front) over either
 * engine; this layer only maps names to ids and options to arguments.
 */
import { getBackend } from './backend/select';
import type { Backend, KeyHandle } from './backend/types';
import { TesseraError } from './errors';
import { type Algorithm, algorithmId, describe, fromText, headerLength, TAG_BYTES, toText } from './format';
import { noteSecureAllocation } from './secure';

export interface AadOptions {
  /** Associated data: authenticated, not encrypted. */
  aad?: Uint8Array;
}

function aadOf(opts: AadOptions | undefined): Uint8Array | undefined {
  if (opts === undefined) return undefined;
  if (opts === null || typeof opts !== 'object')
    throw new TesseraError('ERR_ARGUMENT', `options must be an object (got ${opts === null ? 'null' : typeof opts})`);
  return opts.aad;
}

/** Runs fn, turning a synchronous throw (a bad argument) into a rejection. */
function settle<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (e) {
    return Promise.reject(e);
  }
}

function requireOut(out: Uint8Array): Uint8Array {
  // The native call treats a missing out as "allocate": refuse it here.
  if (out === undefined || out === null) throw new TesseraError('ERR_ARGUMENT', 'out must be a Uint8Array');
  return out;
}

/** Raw AEAD with caller-supplied key and nonce. Output of seal is ciphertext || 16-byte tag. */
export const aead = {
  seal(alg: Algorithm, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
    return getBackend().rawSeal(algorithmId(alg), key, nonce, plaintext, aad);
  },
  /** Throws TesseraError ERR_AUTH if the tag does not verify; no plaintext is released. */
  open(alg: Algorithm, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array {
    return getBackend().rawOpen(algorithmId(alg), key, nonce, sealed, aad);
  },
  /** Writes ciphertext || tag into out (in place when out starts at plaintext); returns the byte count. */
  sealInto(out: Uint8Array, alg: Algorithm, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): number {
    return getBackend().rawSealInto(out, algorithmId(alg), key, nonce, plaintext, aad);
  },
  /** Writes the plaintext into out; on failure the written bytes are zeroed. Returns the byte count. */
  openInto(out: Uint8Array, alg: Algorithm, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): number {
    return getBackend().rawOpenInto(out, algorithmId(alg), key, nonce, sealed, aad);
  },
};

export interface AeadKeyOptions {
  /**
   * Maximum number of messages this key will seal. Defaults to 2^32 for the
   * 96-bit random nonce algorithms (NIST SP 800-38D section 8.3) and to
   * 2^64 - 1 for XChaCha20-Poly1305 and XAES-256-GCM (192-bit nonces).
   */
  nonceLimit?: number | bigint;
  /** Key id written into message headers (the keyring sets it; 0 for a bare key). */
  keyId?: number;
}

const U64_MAX = (1n << 64n) - 1n;

function limitFor(alg: Algorithm, opt: number | bigint | undefined): bigint {
  if (opt === undefined) return alg === 'aes-256-gcm' || alg === 'chacha20-poly1305' ? 1n << 32n : U64_MAX;
  const v = typeof opt === 'bigint' ? opt : Number.isSafeInteger(opt) ? BigInt(opt) : -1n;
  if (v < 0n || v > U64_MAX) throw new TesseraError('ERR_ARGUMENT', 'nonceLimit must be an integer between 0 and 2^64 - 1');
  return v;
}

function keyIdOf(opt: number | undefined): number {
  if (opt === undefined) return 0;
  if (!Number.isInteger(opt) || opt < 0 || opt > 0xffffffff) throw new TesseraError('ERR_ARGUMENT', 'keyId must be a uint32');
  return opt;
}

/** Views over a batch's output: element i is inputs[i].length + delta bytes. */
function cut(buf: ArrayBuffer, inputs: Uint8Array[], delta: number): Uint8Array[] {
  const n = inputs.length;
  const views = new Array<Uint8Array>(n);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const len = inputs[i]!.length + delta;
    views[i] = new Uint8Array(buf, off, len);
    off += len;
  }
  return views;
}

/**
 * A key in secure memory (docs/SECURITY.md): seals
 * with random nonces into message format v1; `dispose()` (or `using`)
 * zeroizes now, else garbage collection does.
 */
export class AeadKey implements Disposable {
  readonly algorithm: Algorithm;
  readonly keyId: number;
  readonly nonceLimit: bigint;
  readonly #h: KeyHandle;
  readonly #headerLength: number;
  #disposed = false;

  private constructor(backend: Backend, alg: Algorithm, key: Uint8Array | undefined, opts: AeadKeyOptions | undefined) {
    const id = algorithmId(alg);
    if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new TesseraError('ERR_ARGUMENT', 'options must be an object');
    this.algorithm = alg;
    this.keyId = keyIdOf(opts?.keyId);
    this.nonceLimit = limitFor(alg, opts?.nonceLimit);
    this.#h = backend.createKey(id, key, this.keyId, this.nonceLimit);
    this.#headerLength = headerLength(alg);
    noteSecureAllocation(backend);
  }

  /** A fresh random key, generated inside secure memory. */
  static generate(alg: Algorithm, opts?: AeadKeyOptions): AeadKey {
    return new AeadKey(getBackend(), alg, undefined, opts);
  }

  /** Copies 32 key bytes into secure memory. The caller should wipe its copy (bytes.fill(0)). */
  static import(alg: Algorithm, bytes: Uint8Array, opts?: AeadKeyOptions): AeadKey {
    if (bytes === undefined || bytes === null) throw new TesseraError('ERR_ARGUMENT', 'key bytes must be a Uint8Array');
    return new AeadKey(getBackend(), alg, bytes, opts);
  }

  /** Size of the message that seal/sealInto produce for n plaintext bytes. */
  sealedLength(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new TesseraError('ERR_ARGUMENT', `length must be a non-negative safe integer (got ${typeof n === 'number' ? n : describe(n)})`);
    return this.#headerLength + n + TAG_BYTES;
  }

  /** Number of messages sealed so far (counts against nonceLimit). */
  get messagesSealed(): bigint {
    return this.#h.used();
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  seal(plaintext: Uint8Array, opts?: AadOptions): Uint8Array {
    return this.#h.seal(plaintext, aadOf(opts));
  }

  /** Writes the message into out (at least sealedLength(plaintext.length) bytes); returns its length. */
  sealInto(out: Uint8Array, plaintext: Uint8Array, opts?: AadOptions): number {
    return this.#h.sealInto(out, plaintext, aadOf(opts));
  }

  open(message: Uint8Array, opts?: AadOptions): Uint8Array {
    return this.#h.open(message, aadOf(opts));
  }

  openInto(out: Uint8Array, message: Uint8Array, opts?: AadOptions): number {
    return this.#h.openInto(out, message, aadOf(opts));
  }

  /** `tsr1.` + base64url of the sealed message. */
  sealToString(plaintext: Uint8Array, opts?: AadOptions): string {
    return toText(this.seal(plaintext, opts));
  }

  openString(text: string, opts?: AadOptions): Uint8Array {
    return this.open(fromText(text), opts);
  }

  /** Seals every message in one native call; outputs are views over one buffer. */
  sealBatch(messages: Uint8Array[], opts?: AadOptions): Uint8Array[] {
    const out = this.#h.sealBatch(messages, aadOf(opts));
    return cut(out, messages, this.#headerLength + TAG_BYTES);
  }

  /** Opens every message or none: any failure throws and releases no plaintext. */
  openBatch(messages: Uint8Array[], opts?: AadOptions): Uint8Array[] {
    const out = this.#h.openBatch(messages, aadOf(opts));
    return cut(out, messages, -(this.#headerLength + TAG_BYTES));
  }

  /** Seals on the libuv thread pool; the event loop stays free. Do not mutate or transfer the input until it settles. */
  sealAsync(plaintext: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    return settle(() => this.#h.sealAsync(plaintext, aadOf(opts)));
  }

  openAsync(message: Uint8Array, opts?: AadOptions): Promise<Uint8Array> {
    return settle(() => this.#h.openAsync(message, aadOf(opts)));
  }

  /**
   * sealAsync into a caller buffer of at least sealedLength(n) bytes;
   * resolves to the message length. With buffers you reuse, no output is
   * allocated at all (and no garbage collection follows large messages).
   */
  sealIntoAsync(out: Uint8Array, plaintext: Uint8Array, opts?: AadOptions): Promise<number> {
    return settle(() => this.#h.sealAsync(plaintext, aadOf(opts), requireOut(out)));
  }

  /** openAsync into a caller buffer; resolves to the plaintext length. On failure out is zeroed. */
  openIntoAsync(out: Uint8Array, message: Uint8Array, opts?: AadOptions): Promise<number> {
    return settle(() => this.#h.openAsync(message, aadOf(opts), requireOut(out)));
  }

  /** Copies the key bytes out of secure memory into a JS buffer. Wipe it when done. */
  exportKey(): Uint8Array {
    return this.#h.exportKey();
  }

  /** Zeroizes the key now. Further use throws ERR_DISPOSED. */
  dispose(): void {
    this.#disposed = true;
    this.#h.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal test hooks and the keyring reach the handle through this. */
  static handleOf(key: AeadKey): KeyHandle {
    return key.#h;
  }
}
