/**
 * Keyring files (the data-key side of ring.streamingAead(purpose),
 * keyring-streaming.ts; TSRF envelope, docs/API.md "Command line"): a fresh
 * random data key per file (or a cached one, below),
 * wrapped by the keyring's KEK provider, Cobblestone inside, and the whole
 * prefix ("TSRF" | 0x01 | header length | header) passed as the Cobblestone
 * context, so the commitment authenticates the header. The envelope codec
 * (lib/chunked/envelope.ts) and the file machinery (lib/chunked/file.ts:
 * atomic output, no partial files, progress, AbortSignal) are the CLI's.
 *
 * Header (UTF-8 JSON, as the CLI's): envelope-header.ts. Same format family as `tessera encrypt`: the CLI writes "key": "raw" or a
 * "kdf" object and no "kek"; keyring files say "key": "kek" and carry "kek".
 * The CLI refuses a keyring file (ERR_FORMAT, "no key description") and
 * a keyring refuses a CLI file (ERR_FORMAT, naming the CLI).
 *
 * The data key is wrapped by the KEK, not by a purpose's keyring key, so a
 * holder of only an RSA public KEK can encrypt (streamingAead(kek.rsa({
 * publicKey }), purpose)): it cannot Keyring.open an existing store, whose
 * MAC key needs the private key. The purpose is a label in the header.
 *
 * Errors on decrypt: ERR_FORMAT (not TSRF, not a keyring file, bad header),
 * ERR_KEK (the header names another KEK, or this KEK cannot unwrap: a
 * public-only RSA KEK), ERR_COMMITMENT (the header or the wrapped key was
 * altered: the unwrap integrity check or the Cobblestone commitment fails).
 *
 * Data-key cache (opts.cache; off when absent): bounded per cached key by
 * maxAgeMs (since the key was made or unwrapped), maxMessages and maxBytes
 * (files and plaintext bytes encrypted under it), plus maxEntries (LRU).
 * - encrypt: one data key (and so one wrapped header value) is reused per
 *   (purpose, suite) for files while within the bounds; a file that would
 *   cross maxMessages or maxBytes gets a new key (one KEK wrap).
 * - decrypt: unwrapped keys are cached by SHA-256(kek id, wrapped bytes),
 *   bounded by maxAgeMs (and maxEntries): the message and byte bounds limit
 *   how much data one key protects, which decryption does not add to (as
 *   the AWS Encryption SDK's caching CMM). Encrypt keys never serve decrypt,
 *   so a public-only holder cannot read back what it wrote.
 * Cached keys live in SecureBuffers, wiped on eviction and on close() (a
 * key in use by a running file is wiped when that file is done).
 */
import { createHash, randomFillSync } from 'node:crypto';

import { decodeEnvelope, type EnvelopeHeader, encodeEnvelope } from '../chunked/envelope';
import { type FileOptions, openHandle, openInput, sealHandle } from '../chunked/file';
import { aborted } from '../chunked/io';
import { resolve, type Suite } from '../chunked/options';
import { TesseraError } from '../errors';
import { describe } from '../format';
import { SecureBuffer } from '../secure';
import { b64 } from './document';
import { answersTo, type KekProvider } from './kek';
import { cacheChannel } from '../metrics/events';

/** Data keys in the caches of every keyring of this process (the metrics' cache-entries gauge). */
let cachedEntries = 0;
export function dataKeyCacheEntries(): number {
  return cachedEntries;
}
import { type EnvelopeInfo, infoOf, keyringFields, readPrefix, sealOptions } from './envelope-header';
import { checkPurpose } from './keyring-doc';

export { type EnvelopeInfo, inspectEnvelope } from './envelope-header';

/** Bounds of the data-key cache of keyring files (KeyringFileOptions.cache); a key past any of them is wiped. */
export interface DataKeyCacheOptions {
  /** Age limit of a cached data key in ms (default 300 000). */
  maxAgeMs?: number;
  /** Files encrypted under one cached data key (default 1000). */
  maxMessages?: number;
  /** Plaintext bytes encrypted under one cached data key (default 2^36, 64 GiB). */
  maxBytes?: number;
  /** Cached keys, encrypt and decrypt together; least recently used goes first (default 100). */
  maxEntries?: number;
}

/** Keyring.open options of keyring files. */
export interface KeyringFileOptions {
  /** Data-key cache of encryptFile / decryptFile (off when absent). */
  cache?: DataKeyCacheOptions;
}

/** Counters of a keyring's data-key cache (Keyring.cacheStats). */
export interface CacheStats {
  /** Files served by a cached data key (no KEK call). */
  hits: number;
  /** KEK calls: a new wrapped data key on encrypt, an unwrap on decrypt. */
  misses: number;
  /** Keys cached now. */
  size: number;
  /** Keys dropped for a bound (age, messages, bytes, entries); close() is not counted. */
  evictions: number;
}

/**
 * Options of encrypting a keyring file (KeyringStreamingAead.encryptFile): the file options
 * without the context (the file's header is its context), and metadata.
 */
export interface EncryptFileOptions extends Omit<FileOptions, 'context'> {
  /** A small JSON object stored in the header (authenticated, not encrypted: inspectEnvelope reads it without a key). */
  metadata?: Record<string, unknown>;
}

/** Options of decrypting a keyring file: the file options without context and suite, which the file's header gives. */
export type DecryptFileOptions = Omit<FileOptions, 'context' | 'suite'>;

/** @internal A data key held for one keyring file or stream (EnvelopeFiles.sealLease / openLease). */
export interface OpenLease {
  header: EnvelopeHeader;
  suite: Suite;
  /** The data key (the Cobblestone input key); wiped once released and no longer cached. */
  key: SecureBuffer;
  release(): void;
}

export interface SealLease extends OpenLease {
  /** The TSRF prefix: magic, version, length, header; also the Cobblestone context. */
  prefix: Uint8Array;
}

const DEFAULTS = { maxAgeMs: 300_000, maxMessages: 1000, maxBytes: 2 ** 36, maxEntries: 100 };
const keyLength = (suite: Suite) => (suite === 'cobblestone-128' ? 16 : 32);

function positive(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw new TesseraError('ERR_ARGUMENT', `cache.${name} must be a positive integer (got ${describe(v)})`);
  return v;
}

export function checkCacheOptions(c: unknown): Required<DataKeyCacheOptions> | undefined {
  if (c === undefined) return undefined;
  if (c === null || typeof c !== 'object') throw new TesseraError('ERR_ARGUMENT', `options.cache must be an object (got ${describe(c)})`);
  const o = c as DataKeyCacheOptions;
  return {
    maxAgeMs: positive(o.maxAgeMs, 'maxAgeMs', DEFAULTS.maxAgeMs),
    maxMessages: positive(o.maxMessages, 'maxMessages', DEFAULTS.maxMessages),
    maxBytes: positive(o.maxBytes, 'maxBytes', DEFAULTS.maxBytes),
    maxEntries: positive(o.maxEntries, 'maxEntries', DEFAULTS.maxEntries),
  };
}

function checkKek(kek: unknown): KekProvider {
  const k = kek as KekProvider;
  if (!k || typeof k.id !== 'string' || typeof k.wrap !== 'function' || typeof k.unwrap !== 'function')
    throw new TesseraError('ERR_ARGUMENT', 'a KekProvider is required');
  return k;
}

function checkPaths(src: unknown, dst: unknown, opts: unknown): void {
  if (typeof src !== 'string' || typeof dst !== 'string')
    throw new TesseraError('ERR_ARGUMENT', `src and dst must be paths (got ${describe(src)}, ${describe(dst)})`);
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new TesseraError('ERR_ARGUMENT', 'options must be an object');
  const o = (opts ?? {}) as FileOptions;
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new TesseraError('ERR_ARGUMENT', 'options.onProgress must be a function');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TesseraError('ERR_ARGUMENT', 'options.signal must be an AbortSignal');
}

interface Entry {
  key: SecureBuffer;
  wrapped: Uint8Array;
  created: number;
  messages: number;
  bytes: number;
  /** Files running with this key; an evicted key is wiped when the last one ends. */
  refs: number;
  evicted: boolean;
}

/** The data keys of one KEK: fresh per file, or cached within the bounds (the engine under keyring-streaming.ts). */
export class EnvelopeFiles {
  readonly #kek: KekProvider;
  readonly #now: () => number;
  readonly #bounds: Required<DataKeyCacheOptions> | undefined;
  /** encrypt: 'purpose\0suite' -> entry; decrypt: 'd:' + hash -> entry. Map order is the LRU order. */
  readonly #cache = new Map<string, Entry>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #closed = false;

  constructor(kek: KekProvider, cache?: DataKeyCacheOptions, now: () => number = Date.now) {
    this.#kek = checkKek(kek);
    this.#bounds = checkCacheOptions(cache);
    this.#now = now;
  }

  stats(): CacheStats {
    return { hits: this.#hits, misses: this.#misses, size: this.#cache.size, evictions: this.#evictions };
  }

  #drop(name: string, e: Entry, counted: boolean): void {
    if (this.#cache.get(name) === e) {
      this.#cache.delete(name);
      cachedEntries--;
    }
    if (counted) this.#evictions++;
    e.evicted = true;
    if (e.refs === 0) e.key.dispose();
  }

  #release(e: Entry, uncached: boolean): void {
    e.refs--;
    if ((e.evicted || uncached) && e.refs === 0) e.key.dispose();
  }

  #put(name: string, e: Entry): void {
    const prev = this.#cache.get(name);
    if (prev) this.#drop(name, prev, false); // two misses of one name raced: keep the newer key
    this.#cache.set(name, e);
    cachedEntries++;
    while (this.#cache.size > this.#bounds!.maxEntries) {
      const [oldest, old] = this.#cache.entries().next().value as [string, Entry];
      this.#drop(oldest, old, true);
    }
  }

  /** The cached entry under name if still within its bounds for `bytes` more plaintext (decrypt: bytes undefined). */
  #lookup(name: string, bytes: number | undefined): Entry | undefined {
    const e = this.#cache.get(name);
    if (!e || !this.#bounds) return undefined;
    const b = this.#bounds;
    const expired = this.#now() - e.created >= b.maxAgeMs;
    const full = bytes !== undefined && (e.messages + 1 > b.maxMessages || e.bytes + bytes > b.maxBytes);
    if (expired || full) {
      this.#drop(name, e, true);
      return undefined;
    }
    this.#cache.delete(name); // most recently used last
    this.#cache.set(name, e);
    return e;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TesseraError('ERR_DISPOSED', 'the keyring is closed');
  }

  /** A data key for a file of `size` bytes (the entry is held: release it). */
  async #encryptKey(purpose: string, suite: Suite, size: number): Promise<[Entry, boolean]> {
    const name = `${purpose}\0${suite}`;
    // A file larger than maxBytes alone gets its own key, not cached, and leaves the cached one be.
    const hit = this.#bounds && size > this.#bounds.maxBytes ? undefined : this.#lookup(name, size);
    if (hit) {
      this.#hits++;
      if (cacheChannel.hasSubscribers) cacheChannel.publish({ result: 'hit' });
      hit.refs++;
      return [hit, false];
    }
    const key = SecureBuffer.alloc(keyLength(suite));
    randomFillSync(key.bytes);
    let wrapped: Uint8Array;
    try {
      wrapped = await this.#kek.wrap(key.bytes);
    } catch (e) {
      key.dispose();
      throw e;
    }
    this.#misses++;
    if (cacheChannel.hasSubscribers) cacheChannel.publish({ result: 'miss' });
    const e: Entry = { key, wrapped, created: this.#now(), messages: 0, bytes: 0, refs: 1, evicted: false };
    const cacheable = this.#bounds !== undefined && !this.#closed && size <= this.#bounds.maxBytes;
    if (cacheable) this.#put(name, e);
    return [e, !cacheable];
  }

  /** The unwrapped data key of a header (held: release it). */
  async #decryptKey(wrapped: Uint8Array, len: number): Promise<[Entry, boolean]> {
    const name = `d:${createHash('sha256').update(this.#kek.id).update('\0').update(wrapped).digest('hex')}`;
    const hit = this.#lookup(name, undefined);
    if (hit) {
      if (hit.key.bytes.length !== len)
        throw new TesseraError('ERR_FORMAT', `TSRF header: the data key is ${hit.key.bytes.length} bytes, the suite takes ${len}`);
      this.#hits++;
      if (cacheChannel.hasSubscribers) cacheChannel.publish({ result: 'hit' });
      hit.refs++;
      return [hit, false];
    }
    let raw: Uint8Array;
    try {
      raw = await this.#kek.unwrap(wrapped);
    } catch (e) {
      if (e instanceof TesseraError && e.code === 'ERR_AUTH')
        throw new TesseraError('ERR_COMMITMENT', 'the wrapped data key in the TSRF header fails its integrity check (the header was altered)');
      throw e;
    }
    this.#misses++;
    if (cacheChannel.hasSubscribers) cacheChannel.publish({ result: 'miss' });
    let key: SecureBuffer;
    try {
      if (raw.length !== len) throw new TesseraError('ERR_FORMAT', `TSRF header: the data key is ${raw.length} bytes, the suite takes ${len}`);
      key = SecureBuffer.from(raw);
    } finally {
      raw.fill(0);
    }
    const e: Entry = { key, wrapped, created: this.#now(), messages: 0, bytes: 0, refs: 1, evicted: false };
    const cacheable = this.#bounds !== undefined && !this.#closed;
    if (cacheable) this.#put(name, e);
    return [e, !cacheable];
  }

  /**
   * @internal The TSRF prefix (header: purpose, suite, metadata, the
   * wrapped data key) and the data key for one file or stream of `size`
   * plaintext bytes (undefined: not known in advance, so a fresh data key
   * that is not cached). Counted against the cache bounds at once, so
   * concurrent files cannot overshoot them. release() when done.
   */
  async sealLease(purpose: string, opts: Omit<EncryptFileOptions, 'onProgress' | 'signal'>, size: number | undefined): Promise<SealLease> {
    this.#checkOpen();
    checkPurpose(purpose);
    const { suite, metadata } = sealOptions(opts);
    const [entry, uncached] = await this.#encryptKey(purpose, suite, size ?? Infinity);
    const header: EnvelopeHeader = {
      suite,
      key: 'kek',
      kek: { id: this.#kek.id, wrapped: b64(entry.wrapped) },
      purpose,
      created: new Date(this.#now()).toISOString(),
      ...(metadata !== undefined ? { metadata } : {}),
    };
    entry.messages++;
    entry.bytes += size ?? 0;
    return { prefix: encodeEnvelope(header), header, suite, key: entry.key, release: () => this.#release(entry, uncached) };
  }

  /** @internal The data key of a keyring file or stream whose TSRF prefix is `prefix`: ERR_FORMAT, ERR_KEK, ERR_COMMITMENT. release() when done. */
  async openLease(prefix: Uint8Array): Promise<OpenLease> {
    this.#checkOpen();
    const header = decodeEnvelope(prefix);
    const { suite, kekId, wrapped } = keyringFields(header);
    if (!answersTo(this.#kek, kekId))
      throw new TesseraError('ERR_KEK', `this file's data key is wrapped by KEK ${kekId}, not by this keyring's KEK ${this.#kek.id}`);
    const [entry, uncached] = await this.#decryptKey(wrapped, keyLength(suite));
    return { header, suite, key: entry.key, release: () => this.#release(entry, uncached) };
  }

  /** Encrypts src into a TSRF keyring file at dst (atomic). */
  async encrypt(purpose: string, src: string, dst: string, opts: EncryptFileOptions = {}): Promise<EnvelopeInfo> {
    this.#checkOpen();
    checkPurpose(purpose);
    checkPaths(src, dst, opts);
    sealOptions(opts);
    aborted(opts.signal, 'encryptFile');
    const [input, total] = await openInput(src);
    let lease: SealLease | undefined;
    let handed = false;
    try {
      // A pipe (total undefined) counts 0 bytes against the cache bounds.
      lease = await this.sealLease(purpose, opts, total ?? 0);
      const r = resolve(lease.key, { context: lease.prefix, suite: lease.suite, threads: opts.threads });
      handed = true;
      await sealHandle(input, total, dst, r, opts, { prefix: lease.prefix });
      return infoOf(lease.header, lease.prefix.length);
    } finally {
      if (!handed) await input.close().catch(() => undefined);
      lease?.release();
    }
  }

  /** Decrypts a TSRF keyring file; dst appears only once every chunk verified. Returns what its header said. */
  async decrypt(src: string, dst: string, opts: DecryptFileOptions = {}): Promise<EnvelopeInfo> {
    this.#checkOpen();
    checkPaths(src, dst, opts);
    aborted(opts.signal, 'decryptFile');
    const [input, size] = await openInput(src);
    let lease: OpenLease | undefined;
    let handed = false;
    try {
      const prefix = await readPrefix(input);
      lease = await this.openLease(prefix);
      const r = resolve(lease.key, { context: prefix, suite: lease.suite, threads: opts.threads });
      handed = true;
      await openHandle(input, size, dst, r, opts, { skip: prefix.length });
      return infoOf(lease.header, prefix.length);
    } finally {
      if (!handed) await input.close().catch(() => undefined);
      lease?.release();
    }
  }

  /** Wipes every cached key (keys in use are wiped when their file ends). */
  close(): void {
    this.#closed = true;
    for (const [name, e] of [...this.#cache]) this.#drop(name, e, false);
  }
}

/** @deprecated use streamingAead(kek, purpose).encryptFile (keyring-streaming.ts) */
export function encryptEnvelopeFile(kek: KekProvider, purpose: string, src: string, dst: string, opts?: EncryptFileOptions): Promise<EnvelopeInfo> {
  return new EnvelopeFiles(kek).encrypt(purpose, src, dst, opts);
}

/** @deprecated use streamingAead(kek).decryptFile (keyring-streaming.ts) */
export function decryptEnvelopeFile(kek: KekProvider, src: string, dst: string, opts?: DecryptFileOptions): Promise<EnvelopeInfo> {
  return new EnvelopeFiles(kek).decrypt(src, dst, opts);
}
