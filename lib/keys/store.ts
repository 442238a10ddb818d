/**
 * Key stores (docs/ARCHITECTURE.md "Key manager core"; contract names
 * `FileKeyStore`, `PostgresKeyStore`): where a keyring document lives.
 *
 * A store persists one JSON document, the keyring, as a whole, with a
 * generation number for optimistic concurrency: `commit(next, expected)`
 * succeeds only if the stored generation is still `expected` (0: the store
 * is empty) and `next.generation === expected + 1`; otherwise it fails with
 * ERR_CONFLICT and the keyring reloads and re-applies its change. Every
 * store gives the same guarantee (the file store with a lock file and a
 * re-read under it, PostgreSQL with SELECT ... FOR UPDATE in a
 * transaction), so the keyring logic is written once.
 *
 * Stores never see key material in the clear: data keys and the metadata
 * MAC key are wrapped by the KEK before they reach a store, and the
 * keyring authenticates the whole document (lib/keys/document.ts). A store
 * only checks that what it reads is structurally a keyring document
 * (ERR_FORMAT otherwise) and never overwrites a document it cannot parse.
 */
import { TesseraError } from '../errors';
import type { Algorithm } from '../format';
import type { KdfRecord } from './kdf';

/**
 * Key states: active (the primary) -> decrypt-only -> retired -> destroyed.
 * 'pending': made and stored but not yet the primary (a database key
 * during rotation, lib/keys/keyring-database.ts); it becomes active or is
 * destroyed, nothing else.
 */
export type KeyState = 'pending' | 'active' | 'decrypt-only' | 'retired' | 'destroyed';
export const KEY_STATES: readonly KeyState[] = ['pending', 'active', 'decrypt-only', 'retired', 'destroyed'];

/** Rotation policy of a purpose, checked on use (no timers). */
export interface RotationPolicy {
  /** Rotate when the primary is this many days old (fractions allowed). */
  maxAgeDays?: number;
  /** Rotate when the primary has sealed this many messages. */
  maxMessages?: number;
}

/** One key version as stored. `wrapped` is absent once the key is destroyed. */
export interface KeyRecord {
  /** uint32, unique across the whole keyring; message headers carry only this. */
  id: number;
  purpose: string;
  algorithm: Algorithm;
  state: KeyState;
  /** ms since the epoch. */
  createdAt: number;
  stateChangedAt: number;
  /** The 32 key bytes wrapped by the KEK (base64). Removed when destroyed. */
  wrapped?: string;
  /** Messages sealed / opened, as last persisted (counts are batched: see keyring-counts.ts). */
  encrypted: number;
  decrypted: number;
}

/** One purpose in a KeyringDoc: its rotation policy and wrapped blind-index key. */
export interface PurposeRecord {
  policy: RotationPolicy;
  /**
   * The purpose's blind-index key (32 random bytes for HMAC-SHA-256,
   * ring.prf(purpose).blindIndex), wrapped by the KEK (base64); made on first use and
   * never rotated, so indexes stay stable across data-key rotation.
   */
  indexKey?: string;
}

/** KDF parameters of a passphrase KEK, as stored in KeyringDoc.kekParams: lib/keys/kdf.ts's KdfRecord. */
export type { KdfRecord as KekParams } from './kdf';

/** The keyring document (format "tessera-keyring", version 1). */
export interface KeyringDoc {
  format: 'tessera-keyring';
  version: 1;
  /** Incremented by every commit; 1 for the first. */
  generation: number;
  /** `KekProvider.id` of the KEK that wrapped everything below. */
  kekId: string;
  /** Random 32-byte MAC key, wrapped by the KEK (base64). */
  macKey: string;
  /**
   * (Addition for the `tessera keyring` CLI.) How to derive a passphrase
   * KEK again: recorded by Keyring.open when it initializes a store with a
   * `kek.fromPassphrase` provider. Read before the MAC can be checked (the
   * MAC key needs the KEK), but covered by the MAC like every other field:
   * altered parameters derive another KEK (ERR_KEK, its id differs from
   * `kekId`), and the MAC check then authenticates them. Absent for other
   * KEKs and for documents written before this field existed.
   */
  kekParams?: KdfRecord;
  purposes: Record<string, PurposeRecord>;
  keys: KeyRecord[];
  /** HMAC-SHA-256 (hex) over the canonical serialization of every other field. */
  mac: string;
}

/**
 * Where a keyring keeps its document (FileKeyStore, PostgresKeyStore): one document with a generation number,
 * replaced as a whole with optimistic concurrency. The store sees only what the keyring writes: wrapped keys, everything MACed.
 */
export interface KeyStore {
  /** 'file', 'postgres', ... */
  readonly kind: string;
  /** The current document, or undefined for an empty store. ERR_FORMAT if it is not a keyring document. */
  load(): Promise<KeyringDoc | undefined>;
  /**
   * Atomically replaces the document if the stored generation is still
   * `expectedGeneration` (0 = empty). ERR_CONFLICT if another writer
   * committed first; when this resolves, `next` is durable.
   * `verifyCurrent` is called (under the store's lock / in its transaction)
   * with the document about to be replaced; if it throws (the keyring's MAC
   * check: ERR_FORMAT), nothing is written, so a tampered store is never
   * overwritten.
   */
  commit(next: KeyringDoc, expectedGeneration: number, verifyCurrent?: (current: KeyringDoc) => void): Promise<void>;
  /** Releases what the store holds (connections, locks). The keyring never closes its store: the caller does. */
  close(): Promise<void>;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ALGS = new Set(['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm']);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function count(v: unknown): boolean {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

const KDF_FIELDS: Record<string, string[] | undefined> = {
  scrypt: ['N', 'r', 'p'],
  'pbkdf2-sha256': ['iterations'],
  argon2id: ['memory', 'passes', 'parallelism'],
};

/** Structural check of a parsed document (not authenticity: that is the keyring's MAC). */
export function checkDocShape(v: unknown, where: string): KeyringDoc {
  const bad = (what: string): never => {
    throw new TesseraError('ERR_FORMAT', `${where}: not a valid keyring document (${what})`);
  };
  if (!isObj(v)) bad('not an object');
  const d = v as Record<string, unknown>;
  if (d.format !== 'tessera-keyring') bad('format');
  if (d.version !== 1) bad(`unsupported version ${typeof d.version === 'number' ? d.version : '?'}`);
  if (!count(d.generation) || (d.generation as number) < 1) bad('generation');
  if (typeof d.kekId !== 'string') bad('kekId');
  if (typeof d.macKey !== 'string' || !B64.test(d.macKey)) bad('macKey');
  if (typeof d.mac !== 'string' || !/^[0-9a-f]{64}$/.test(d.mac)) bad('mac');
  if (d.kekParams !== undefined) {
    const k = d.kekParams as Record<string, unknown>;
    const int = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;
    // A string naming an own member only: String() of {"toString": 1} throws, and
    // 'constructor' or '__proto__' would find Object.prototype's members.
    const alg = isObj(k) && typeof k.alg === 'string' ? k.alg : '';
    const fields = Object.hasOwn(KDF_FIELDS, alg) ? KDF_FIELDS[alg] : undefined;
    if (!isObj(k) || !fields || typeof k.salt !== 'string' || !B64.test(k.salt) || !fields.every((f) => int(k[f]))) bad('kekParams');
  }
  if (!isObj(d.purposes)) bad('purposes');
  for (const p of Object.values(d.purposes as object)) {
    if (!isObj(p) || !isObj(p.policy)) bad('purpose record');
    if ((p as Record<string, unknown>).indexKey !== undefined && (typeof p.indexKey !== 'string' || !B64.test(p.indexKey))) bad('blind index key');
  }
  if (!Array.isArray(d.keys)) bad('keys');
  const ids = new Set<number>();
  for (const k of d.keys as unknown[]) {
    if (!isObj(k)) bad('key record');
    const r = k as Record<string, unknown>;
    if (!Number.isInteger(r.id) || (r.id as number) < 1 || (r.id as number) > 0xffffffff || ids.has(r.id as number)) bad('key id');
    ids.add(r.id as number);
    if (typeof r.purpose !== 'string' || !Object.hasOwn(d.purposes as object, r.purpose) || !isObj((d.purposes as Record<string, unknown>)[r.purpose]))
      bad('key purpose');
    if (!ALGS.has(r.algorithm as string)) bad('key algorithm');
    if (!KEY_STATES.includes(r.state as KeyState)) bad('key state');
    if (!count(r.createdAt) || !count(r.stateChangedAt) || !count(r.encrypted) || !count(r.decrypted)) bad('key numbers');
    if (r.state === 'destroyed' ? r.wrapped !== undefined : typeof r.wrapped !== 'string' || !B64.test(r.wrapped)) bad('wrapped key');
  }
  return v as KeyringDoc;
}
