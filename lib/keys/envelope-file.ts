/**
 * Keyring files (ring.encryptFile / decryptFile; TSRF envelope, README
 * "Command line"): a fresh random data key per file (or a cached one, below),
 * wrapped by the keyring's KEK provider, Cobblestone inside, and the whole
 * prefix ("TSRF" | 0x01 | header length | header) passed as the Cobblestone
 * context, so the commitment authenticates the header. The envelope codec
 * (lib/chunked/envelope.ts) and the file machinery (lib/chunked/file.ts:
 * atomic output, no partial files, progress, AbortSignal) are the CLI's.
 *
 * Header (UTF-8 JSON, as the CLI's):
 *   { "suite": "cobblestone-256", "key": "kek",
 *     "kek": { "id": "<KekProvider.id>", "wrapped": "<base64 wrapped data key>" },
 *     "purpose": "files", "created": "<ISO 8601>", "metadata": { ... } }
 * Same format family as `tessera encrypt`: the CLI writes "key": "raw" or a
 * "kdf" object and no "kek"; keyring files say "key": "kek" and carry "kek".
 * The CLI refuses a keyring file (ERR_FORMAT, "no key description") and
 * decryptEnvelopeFile refuses a CLI file (ERR_FORMAT, naming the CLI).
 *
 * The data key is wrapped by the KEK, not by a purpose's keyring key, so a
 * holder of only an RSA public KEK can encrypt (encryptEnvelopeFile with
 * kek.rsa({ publicKey })): it cannot Keyring.open an existing store, whose
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

import { decodeEnvelope, type EnvelopeHeader, encodeEnvelope, ENVELOPE_FIXED, ENVELOPE_VERSION, envelopeLength } from '../chunked/envelope';
import { type FileOptions, openHandle, openInput, sealHandle } from '../chunked/file';
import { aborted, type Input, readFull } from '../chunked/io';
import { resolve, type Suite, SUITES } from '../chunked/options';
import { TesseraError } from '../errors';
import { describe } from '../format';
import { SecureBuffer } from '../secure';
import { b64 } from './document';
import type { KekProvider } from './kek';
import { checkPurpose } from './keyring-doc';

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

export interface EncryptFileOptions extends Omit<FileOptions, 'context'> {
  /** A small JSON object stored in the header (authenticated, not encrypted: inspectEnvelope reads it without a key). */
  metadata?: Record<string, unknown>;
}

export type DecryptFileOptions = Omit<FileOptions, 'context' | 'suite'>;

/** What a keyring file's header says (inspectEnvelope, decrypt results). Unauthenticated until decrypted. */
export interface EnvelopeInfo {
  version: number;
  /** Prefix length: magic, version, length and header; the Cobblestone ciphertext starts here. */
  headerLength: number;
  /** 'kek' for keyring files; 'raw' / 'scrypt' for `tessera encrypt` files (whose other fields are undefined). */
  kind: 'kek' | 'raw' | 'scrypt' | 'unknown';
  suite: string | undefined;
  kekId: string | undefined;
  purpose: string | undefined;
  createdAt: string | undefined;
  metadata: Record<string, unknown> | undefined;
}

const MAX_METADATA = 16 * 1024;
/** RSA-OAEP 16384 bits gives 2048 bytes; anything longer is not a wrapped key. */
const MAX_WRAPPED = 4096;
const DEFAULTS = { maxAgeMs: 300_000, maxMessages: 1000, maxBytes: 2 ** 36, maxEntries: 100 };
const keyLength = (suite: Suite) => (suite === 'cobblestone-128' ? 16 : 32);

function positive(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new TesseraError('ERR_ARGUMENT', `cache.${name} must be a positive integer (got ${describe(v)})`);
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
  if (!k || typeof k.id !== 'string' || typeof k.wrap !== 'function' || typeof k.unwrap !== 'function') throw new TesseraError('ERR_ARGUMENT', 'a KekProvider is required');
  return k;
}

function checkPaths(src: unknown, dst: unknown, opts: unknown): void {
  if (typeof src !== 'string' || typeof dst !== 'string') throw new TesseraError('ERR_ARGUMENT', `src and dst must be paths (got ${describe(src)}, ${describe(dst)})`);
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new TesseraError('ERR_ARGUMENT', 'options must be an object');
  const o = (opts ?? {}) as FileOptions;
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new TesseraError('ERR_ARGUMENT', 'options.onProgress must be a function');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TesseraError('ERR_ARGUMENT', 'options.signal must be an AbortSignal');
}

function checkMetadata(m: unknown): Record<string, unknown> | undefined {
  if (m === undefined) return undefined;
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new TesseraError('ERR_ARGUMENT', `options.metadata must be a plain JSON object (got ${describe(m)})`);
  let json: string;
  try {
    json = JSON.stringify(m);
  } catch {
    throw new TesseraError('ERR_ARGUMENT', 'options.metadata must be JSON-serializable');
  }
  if (Buffer.byteLength(json) > MAX_METADATA) throw new TesseraError('ERR_ARGUMENT', `options.metadata is larger than ${MAX_METADATA} bytes as JSON`);
  return JSON.parse(json) as Record<string, unknown>;
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

/** The data keys of one KEK: fresh per file, or cached within the bounds. Used by Keyring; also standalone. */
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
    if (this.#cache.get(name) === e) this.#cache.delete(name);
    if (counted) this.#evictions++;
    e.evicted = true;
    if (e.refs === 0) e.key.dispose();
  }

  #release(e: Entry, uncached: boolean): void {
    e.refs--;
    if ((e.evicted || uncached) && e.refs === 0) e.key.dispose();
  }

  #put(name: string, e: Entry): void {
    this.#cache.set(name, e);
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
      if (hit.key.bytes.length !== len) throw new TesseraError('ERR_FORMAT', `TSRF header: the data key is ${hit.key.bytes.length} bytes, the suite takes ${len}`);
      this.#hits++;
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

  /** Encrypts src into a TSRF keyring file at dst (atomic). */
  async encrypt(purpose: string, src: string, dst: string, opts: EncryptFileOptions = {}): Promise<EnvelopeInfo> {
    this.#checkOpen();
    checkPurpose(purpose);
    checkPaths(src, dst, opts);
    const suite = opts.suite ?? 'cobblestone-256';
    if (!SUITES.includes(suite)) throw new TesseraError('ERR_ALGORITHM', `unknown suite ${describe(suite)} (expected ${SUITES.join(' or ')})`);
    const metadata = checkMetadata(opts.metadata);
    aborted(opts.signal, 'encryptFile');
    const [input, total] = await openInput(src);
    let entry: Entry | undefined;
    let uncached = false;
    let handed = false;
    try {
      [entry, uncached] = await this.#encryptKey(purpose, suite, total ?? 0);
      const header: EnvelopeHeader = {
        suite, key: 'kek', kek: { id: this.#kek.id, wrapped: b64(entry.wrapped) }, purpose, created: new Date(this.#now()).toISOString(),
        ...(metadata !== undefined ? { metadata } : {}),
      };
      const prefix = encodeEnvelope(header);
      const r = resolve(entry.key, { context: prefix, suite, threads: opts.threads });
      // Counted before the await, so concurrent files cannot overshoot the bounds.
      entry.messages++;
      entry.bytes += total ?? 0;
      handed = true;
      await sealHandle(input, total, dst, r, opts, { prefix });
      return infoOf(header, prefix.length);
    } finally {
      if (!handed) await input.close().catch(() => undefined);
      if (entry) this.#release(entry, uncached);
    }
  }

  /** Decrypts a TSRF keyring file; dst appears only once every chunk verified. Returns what its header said. */
  async decrypt(src: string, dst: string, opts: DecryptFileOptions = {}): Promise<EnvelopeInfo> {
    this.#checkOpen();
    checkPaths(src, dst, opts);
    aborted(opts.signal, 'decryptFile');
    const [input, size] = await openInput(src);
    let entry: Entry | undefined;
    let uncached = false;
    let handed = false;
    try {
      const prefix = await readPrefix(input);
      const h = decodeEnvelope(prefix);
      const { suite, kekId, wrapped } = keyringFields(h);
      if (kekId !== this.#kek.id) throw new TesseraError('ERR_KEK', `this file's data key is wrapped by KEK ${kekId}, not by this keyring's KEK ${this.#kek.id}`);
      [entry, uncached] = await this.#decryptKey(wrapped, keyLength(suite));
      const r = resolve(entry.key, { context: prefix, suite, threads: opts.threads });
      handed = true;
      await openHandle(input, size, dst, r, opts, { skip: prefix.length });
      return infoOf(h, prefix.length);
    } finally {
      if (!handed) await input.close().catch(() => undefined);
      if (entry) this.#release(entry, uncached);
    }
  }

  /** Wipes every cached key (keys in use are wiped when their file ends). */
  close(): void {
    this.#closed = true;
    for (const [name, e] of [...this.#cache]) this.#drop(name, e, false);
  }
}

/** Reads the TSRF prefix from the input's current position (files and pipes alike). */
async function readPrefix(input: Input): Promise<Uint8Array> {
  const fixed = Buffer.alloc(ENVELOPE_FIXED);
  if ((await readFull(input, fixed, null)) < ENVELOPE_FIXED) throw new TesseraError('ERR_FORMAT', 'not a tessera file (too short)');
  const prefix = Buffer.alloc(envelopeLength(fixed));
  fixed.copy(prefix);
  if ((await readFull(input, prefix.subarray(ENVELOPE_FIXED), null)) < prefix.length - ENVELOPE_FIXED) throw new TesseraError('ERR_FORMAT', 'TSRF envelope cut short');
  return prefix;
}

function bad(what: string): never {
  throw new TesseraError('ERR_FORMAT', `TSRF header: ${what}`);
}

function keyringFields(h: EnvelopeHeader): { suite: Suite; kekId: string; wrapped: Uint8Array } {
  if (h.kek === undefined && (h.key === 'raw' || h.kdf !== undefined))
    bad(`this file was made by \`tessera encrypt\` with a ${h.key === 'raw' ? 'raw key' : 'passphrase'}, not by a keyring (use \`tessera decrypt\`)`);
  if (h.key !== 'kek') bad('not a keyring file (no "key": "kek")');
  const suite = h.suite as Suite;
  if (!SUITES.includes(suite)) bad('unknown suite');
  const k = h.kek as Record<string, unknown> | null;
  if (k === null || typeof k !== 'object' || typeof k.id !== 'string' || typeof k.wrapped !== 'string') bad('no KEK id and wrapped key');
  if (k.wrapped.length > (MAX_WRAPPED * 4) / 3 + 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(k.wrapped) || k.wrapped.length % 4 !== 0) bad('the wrapped key is not base64');
  const w = Buffer.from(k.wrapped, 'base64');
  if (w.length === 0) bad('empty wrapped key');
  return { suite, kekId: k.id, wrapped: new Uint8Array(w.buffer, w.byteOffset, w.length) };
}

function infoOf(h: EnvelopeHeader, headerLength: number): EnvelopeInfo {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const kek = h.kek !== null && typeof h.kek === 'object' ? (h.kek as Record<string, unknown>) : undefined;
  const meta = h.metadata !== null && typeof h.metadata === 'object' && !Array.isArray(h.metadata) ? (h.metadata as Record<string, unknown>) : undefined;
  const kind = h.key === 'kek' ? 'kek' : h.key === 'raw' ? 'raw' : h.kdf !== undefined ? 'scrypt' : 'unknown';
  return { version: ENVELOPE_VERSION, headerLength, kind, suite: str(h.suite), kekId: str(kek?.id), purpose: str(h.purpose),
    createdAt: str(h.created), metadata: meta };
}

/** Reads a TSRF file's header without any key (keyring and CLI files). Nothing in it is authenticated until the file decrypts. */
export async function inspectEnvelope(path: string): Promise<EnvelopeInfo> {
  if (typeof path !== 'string') throw new TesseraError('ERR_ARGUMENT', `path must be a string (got ${describe(path)})`);
  const [input] = await openInput(path);
  try {
    const prefix = await readPrefix(input);
    return infoOf(decodeEnvelope(prefix), prefix.length);
  } finally {
    await input.close().catch(() => undefined);
  }
}

/** A keyring file under kek without a Keyring (e.g. a public-only RSA KEK); no cache. */
export function encryptEnvelopeFile(kek: KekProvider, purpose: string, src: string, dst: string, opts?: EncryptFileOptions): Promise<EnvelopeInfo> {
  return new EnvelopeFiles(kek).encrypt(purpose, src, dst, opts);
}

/** Decrypts a keyring file with kek, without a Keyring; no cache. */
export function decryptEnvelopeFile(kek: KekProvider, src: string, dst: string, opts?: DecryptFileOptions): Promise<EnvelopeInfo> {
  return new EnvelopeFiles(kek).decrypt(src, dst, opts);
}
