/**
 * Two layers of interfaces (docs/ARCHITECTURE.md "The front layer"):
 *
 * - `Backend`, `KeyHandle`, `ChunkedHandle`: what lib/ calls. Every call is
 *   checked by the front layer (lib/front), which owns argument checks, the
 *   message header, nonce counting and error wording, once for both
 *   backends.
 * - `Engine`, `EngineKey`, `EngineChunked`: what a backend implements,
 *   mechanically: `native` is the N-API addon (native/node), `wasm` the same
 *   C code compiled to WebAssembly (lib/backend/wasm*.ts). An engine trusts
 *   its arguments to have passed the front; its C code still refuses
 *   lengths that would reach outside a buffer (TSR_ERR_ARGUMENT).
 *
 * Algorithms cross as their message format v1 ids.
 */
export type AlgId = 1 | 2 | 3 | 4;

export interface SecureMemoryStats {
  /** Bytes currently locked in RAM (mlock or memfd_secret). */
  lockedBytes: number;
  /** Bytes mapped for secure memory, guard pages included. */
  mappedBytes: number;
  /** Live secure allocations (keys and internal buffers). */
  allocations: number;
  /** Live arenas (each: guard page, locked pages, guard page). */
  arenas: number;
  /** Arenas whose mlock failed, e.g. at RLIMIT_MEMLOCK. Nonzero means some key bytes may be swapped. */
  mlockFailures: number;
  /** RLIMIT_MEMLOCK soft limit in bytes (Infinity when unlimited). */
  memlockLimit: number;
  memfdSecret: boolean;
  wipeOnFork: boolean;
  dontDump: boolean;
}

/** A key held by the backend; its bytes never enter the JS heap. */
export interface KeyHandle {
  seal(plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  sealInto(out: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): number;
  open(message: Uint8Array, aad?: Uint8Array): Uint8Array;
  openInto(out: Uint8Array, message: Uint8Array, aad?: Uint8Array): number;
  /** All outputs back to back in one buffer, in input order (message i is headerLength + len_i + 16 bytes). */
  sealBatch(messages: Uint8Array[], aad?: Uint8Array): ArrayBuffer;
  /** All plaintexts back to back in one buffer, in input order. */
  openBatch(messages: Uint8Array[], aad?: Uint8Array): ArrayBuffer;
  sealAsync(plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  sealAsync(plaintext: Uint8Array, aad: Uint8Array | undefined, out: Uint8Array): Promise<number>;
  openAsync(message: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  openAsync(message: Uint8Array, aad: Uint8Array | undefined, out: Uint8Array): Promise<number>;
  exportKey(): Uint8Array;
  dispose(): void;
  used(): bigint;
}

/** Cobblestone suite ids of native/chunked/tsr_chunked.h. */
export type SuiteId = 1 | 2;

/**
 * One Cobblestone message's derived key, base nonce and commitment, held by
 * an engine behind the front (lib/front/chunked.ts). Runs of consecutive chunks start at
 * chunk `counter`; `final` marks the run that ends the message. threads 0
 * means the pool size. One operation at a time per handle.
 */
export interface ChunkedHandle {
  commitment(): Uint8Array;
  /** Throws ERR_COMMITMENT unless commitment matches (constant time). */
  check(commitment: Uint8Array): void;
  seal(counter: number, plaintext: Uint8Array, out: Uint8Array, final: boolean, threads: number): number;
  open(counter: number, ciphertext: Uint8Array, out: Uint8Array, final: boolean, threads: number): number;
  sealAsync(counter: number, plaintext: Uint8Array, out: Uint8Array, final: boolean, threads: number): Promise<number>;
  openAsync(counter: number, ciphertext: Uint8Array, out: Uint8Array, final: boolean, threads: number): Promise<number>;
  /**
   * sealAsync / openAsync into a new output made off the event loop (native:
   * allocated and first touched by the workers), with `lead` zeroed bytes in
   * front of the run for the caller's header; resolves to lead + the bytes
   * written.
   */
  sealAlloc(counter: number, plaintext: Uint8Array, final: boolean, threads: number, lead?: number): Promise<Uint8Array>;
  openAlloc(counter: number, ciphertext: Uint8Array, final: boolean, threads: number): Promise<Uint8Array>;
  /**
   * Native only (native/node/chunked_file.cc, native/pool/tsr_chunked_file.c):
   * reads, seals or opens and writes a whole file in one pool job, with no
   * file byte crossing into JS. Seal reads inFd from inOffset to its end
   * (inLength: the size seen at open, informational); open reads the inLength-byte chunk stream
   * at inOffset (ERR_TRUNCATED if no message has that length). Output goes to
   * outFd from outOffset. onProgress gets the input bytes done, at batch
   * granularity (one call queued at a time). Resolves to the input bytes read;
   * I/O failures reject ERR_IO with `errno` and `syscall`; cancel() makes it
   * reject ERR_ABORTED before its next 4 MiB batch. lib/chunked/file.ts uses
   * it when present and falls back to its JS loop otherwise.
   */
  fileAsync?(
    seal: boolean,
    inFd: number,
    inOffset: number,
    inLength: number,
    outFd: number,
    outOffset: number,
    threads: number,
    onProgress?: (inputBytes: number) => void,
  ): Promise<number>;
  /** Stops a running fileAsync (no-op otherwise). */
  cancel?(): void;
  dispose(): void;
}

/** Output memory blocks (docs/API.md "Output memory"); all zero on the wasm backend, which has none. */
export interface OutputMemoryStats {
  /** Bytes of blocks cached plus lent that synchronous calls stay within. */
  limit: number;
  /** Bytes of blocks waiting for reuse. */
  cached: number;
  /** Bytes of blocks held by live outputs. */
  lent: number;
  /** Allocations served by a cached block / by a new mapping; blocks returned to the kernel. */
  reused: number;
  mapped: number;
  unmapped: number;
  /** Outputs from this size on use the blocks; smaller ones come from the JS engine's allocator. */
  minBytes: number;
}

export interface PoolInfo {
  /** Worker threads the pool may run. */
  size: number;
  /** CPUs available to this process. */
  cpus: number;
  max: number;
  /** Tasks handed to the pool and not started yet (the queue depth). */
  queued: number;
}

export interface Backend {
  readonly name: 'native' | 'wasm';
  rawSeal(alg: AlgId, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  rawOpen(alg: AlgId, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array;
  rawSealInto(out: Uint8Array, alg: AlgId, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): number;
  rawOpenInto(out: Uint8Array, alg: AlgId, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): number;
  /** key undefined: generate inside secure memory. */
  createKey(alg: AlgId, key: Uint8Array | undefined, keyId: number, nonceLimit: bigint): KeyHandle;
  secureMemoryStats(): SecureMemoryStats;
  /** The kernel each algorithm runs on for keys made now (native: the CPU tier; wasm: 'wasm'). */
  kernels(): Record<'aes-256-gcm' | 'chacha20-poly1305' | 'xchacha20-poly1305' | 'xaes-256-gcm', string>;
  /** Native only: the kernel tier of contexts made from now on (ERR_BACKEND if the CPU cannot run it). */
  setKernel(name: string): void;
  /** key: raw bytes, or a KeyHandle of this backend (its bytes stay inside). */
  createChunked(suite: SuiteId, key: Uint8Array | KeyHandle, salt: Uint8Array, context: Uint8Array): ChunkedHandle;
  /** Plaintext length of a chunk stream of n bytes; ERR_TRUNCATED if none has that length. */
  chunkedOpenedLength(n: number): number;
  /** Reads, or with `size` sets, the worker pool size. */
  pool(size?: number): PoolInfo;
  /** n bytes of output memory, not zero-filled (every byte is written before use). */
  allocOutput(n: number): Uint8Array;
  /** The resident output blocks (native) and, with `limit`, a new limit in bytes (0: the default). */
  outputMemory(limit?: number): OutputMemoryStats;
  /** n bytes of zeroed secure memory as an ArrayBuffer, and the handle that frees it. */
  secureAlloc(n: number): [ArrayBuffer, unknown];
  /** Zeroizes and frees now; the ArrayBuffer is detached. */
  secureDispose(buffer: ArrayBuffer, handle: unknown): void;
}

/** A key inside an engine: seals (with a nonce the C code draws) and opens checked message format v1 messages. */
export interface EngineKey {
  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  sealInto(out: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): number;
  open(message: Uint8Array, aad: Uint8Array): Uint8Array;
  openInto(out: Uint8Array, message: Uint8Array, aad: Uint8Array): number;
  sealBatch(messages: Uint8Array[], aad: Uint8Array): ArrayBuffer;
  openBatch(messages: Uint8Array[], aad: Uint8Array): ArrayBuffer;
  sealAsync(plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array | undefined): Promise<Uint8Array | number>;
  openAsync(message: Uint8Array, aad: Uint8Array, out: Uint8Array | undefined): Promise<Uint8Array | number>;
  exportKey(): Uint8Array;
  dispose(): void;
}

/**
 * One Cobblestone message inside an engine: the ChunkedHandle calls, with
 * runs that arrive checked (shape, output size, counters) and `lead` always
 * given.
 */
export interface EngineChunked extends Omit<ChunkedHandle, 'sealAlloc'> {
  sealAlloc(counter: number, plaintext: Uint8Array, final: boolean, threads: number, lead: number): Promise<Uint8Array>;
}

/**
 * What a backend implements: the Backend calls that need no checks (pool
 * size and output limit arrive checked), plus mechanical keys, Cobblestone
 * handles and the run shape.
 */
export interface Engine extends Pick<
  Backend,
  'name' | 'chunkedOpenedLength' | 'pool' | 'allocOutput' | 'outputMemory' | 'secureAlloc' | 'secureDispose' | 'secureMemoryStats' | 'kernels' | 'setKernel'
> {
  rawSeal(alg: AlgId, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  rawOpen(alg: AlgId, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array;
  rawSealInto(out: Uint8Array, alg: AlgId, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): number;
  rawOpenInto(out: Uint8Array, alg: AlgId, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): number;
  createKey(alg: AlgId, key: Uint8Array | undefined, keyId: number): EngineKey;
  /** key: raw bytes, or an EngineKey of this engine (its bytes stay inside). */
  createChunked(suite: SuiteId, key: Uint8Array | EngineKey, salt: Uint8Array, context: Uint8Array): EngineChunked;
  /** The shape of a run (native/chunked tsr_chunked_run_shape): status, chunks, output bytes. */
  runShape(seal: boolean, inputLength: number, final: boolean): { st: number; chunks: number; outlen: number };
}
