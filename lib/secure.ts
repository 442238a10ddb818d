/// <reference lib="esnext.disposable" preserve="true" />
/**
 * Secure memory (docs/SECURITY.md): the C allocator
 * in native/secmem holds key bytes; this module reports on it and makes
 * sure an mlock failure is never silent.
 */
import { getBackend } from './backend/select';
import { TesseraError } from './errors';
import type { Backend, OutputMemoryStats, SecureMemoryStats } from './backend/types';
import { describe } from './format';

export type { OutputMemoryStats, SecureMemoryStats };

/** The secure memory holding keys and SecureBuffers: bytes locked and mapped, allocations, mlock failures and protections (docs/SECURITY.md). */
export function secureMemoryStats(): SecureMemoryStats {
  return getBackend().secureMemoryStats();
}

/**
 * The output memory of the native backend (docs/API.md "Output memory"):
 * resident blocks that large results are written to and that return for
 * reuse once JavaScript lets go of them. `limit` (bytes; 0 restores the
 * default of TESSERA_OUTPUT_CACHE_MB or 256 MiB) bounds cached plus lent
 * blocks for synchronous calls and trims the cache to it.
 */
export function outputMemory(opts?: { limit?: number }): OutputMemoryStats {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null))
    throw new TesseraError('ERR_ARGUMENT', `options must be an object (got ${describe(opts)})`);
  const limit = opts?.limit;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0))
    throw new TesseraError('ERR_ARGUMENT', `options.limit must be a non-negative integer number of bytes (got ${describe(limit)})`);
  return getBackend().outputMemory(limit);
}

let warnedFailures = 0;

/** After a secure allocation: a process warning the first time (and each time more) arenas fail to lock. */
export function noteSecureAllocation(backend: Backend): void {
  const s = backend.secureMemoryStats();
  if (s.mlockFailures > warnedFailures && typeof process !== 'undefined') {
    warnedFailures = s.mlockFailures;
    process.emitWarning(
      `tessera: ${s.mlockFailures} secure memory arena(s) could not be locked in RAM (RLIMIT_MEMLOCK is ${s.memlockLimit} bytes); ` +
        'key bytes there may be swapped to disk. Raise the limit (ulimit -l) or set TESSERA_SECMEM_STRICT=1 to fail instead.',
      { code: 'TESSERA_MLOCK' },
    );
  }
}

/**
 * Secret bytes of your own (a passphrase, an HMAC key, a key before import)
 * kept in the same secure memory as AeadKey: `bytes` is a Uint8Array view
 * straight onto locked, guard-paged, no-dump, wipe-on-fork memory.
 * `dispose()` (or `using`) zeroizes and frees it and detaches every view;
 * without it, garbage collection does the same. At most 1 MiB per buffer.
 *
 *   using pass = SecureBuffer.from(input); input.fill(0);
 *   const key = AeadKey.import('xaes-256-gcm', pass.bytes);
 */
export class SecureBuffer implements Disposable {
  readonly #buffer: ArrayBuffer;
  readonly #handle: unknown;
  readonly #length: number;
  #disposed = false;

  private constructor(size: number) {
    [this.#buffer, this.#handle] = getBackend().secureAlloc(size);
    this.#length = size;
    noteSecureAllocation(getBackend());
  }

  /** size zeroed bytes (1 to 1 MiB). */
  static alloc(size: number): SecureBuffer {
    return new SecureBuffer(size);
  }

  /** A secure copy of bytes. Wipe your source afterwards (bytes.fill(0)). */
  static from(bytes: Uint8Array): SecureBuffer {
    if (!(bytes instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', 'SecureBuffer.from expects a Uint8Array');
    const sb = new SecureBuffer(bytes.length);
    sb.bytes.set(bytes);
    return sb;
  }

  get length(): number {
    return this.#length;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** A view on the secure memory. Do not keep copies of what you read. */
  get bytes(): Uint8Array {
    if (this.#disposed) throw new TesseraError('ERR_DISPOSED', 'SecureBuffer has been disposed');
    return new Uint8Array(this.#buffer);
  }

  /** Zeroizes and frees now; views taken earlier become empty (detached). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    getBackend().secureDispose(this.#buffer, this.#handle);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
