/**
 * The keyring's document rules (docs/API.md "Key manager": states active ->
 * decrypt-only -> retired -> destroyed, exactly one primary per purpose):
 * validation of purposes and policies, the rotation-policy test,
 * and the state transitions as pure edits of a KeyringDoc draft, which
 * lib/keys/keyring.ts then MACs and commits. Nothing here touches key
 * bytes except unwrapWith (KEK unwrap, failures -> ERR_KEK).
 */
import { randomBytes } from 'node:crypto';

import { TesseraError } from '../errors';
import { type Algorithm, algorithmId, describe } from '../format';
import type { AuditEvent } from './audit';
import { unb64 } from './document';
import { kdfRecord } from './kdf';
import { answersTo, type KekProvider, type PassphraseKekProvider } from './kek';
import { AeadKey } from '../aead';
import { SecureBuffer } from '../secure';
import { b64, computeMac, verifyMac } from './document';
import type { KeyRecord, KeyringDoc, KeyState, KeyStore, PurposeRecord, RotationPolicy } from './store';

/** Options of Keyring.open. */
export interface KeyringOptions {
  /** The KEK that wraps the store's keys (a KEK other than the store's is ERR_KEK). */
  kek: KekProvider;
  /** Algorithm of new keys (default 'xaes-256-gcm'). */
  algorithm?: Algorithm;
  /** Also append audit events to this hash-chained JSON-lines file (lib/keys/audit.ts). */
  auditLog?: string;
  /** Create a purpose with its first key on first encrypt (default true). */
  autoCreate?: boolean;
  /** Persist use counts once a key has this many unpersisted uses (default 1000). */
  countFlushEvery?: number;
  /** Clock in ms since the epoch (tests). */
  now?: () => number;
}

/** A key wrapped by another KEK (Keyring.exportKey): for backup or migration, never the raw key. */
export interface ExportedKey {
  /** The key's id (what its messages' headers carry). */
  id: number;
  purpose: string;
  algorithm: Algorithm;
  /** The key wrapped by `kekId` (never the raw key). */
  wrapped: Uint8Array;
  /** The id of the KEK given to exportKey. */
  kekId: string;
}

/** An audit event recorded in a draft, emitted once the commit succeeds. */
export type PendingEvent = Omit<AuditEvent, 'time' | 'outcome'>;

/** One key as Keyring.status reports it: state, age and use counts. */
export interface KeyStatus {
  /** The key's id (uint32, unique in the keyring; what its messages' headers carry). */
  id: number;
  purpose: string;
  algorithm: Algorithm;
  state: KeyState;
  /** Whether the purpose encrypts under this key (its one 'active' key). */
  primary: boolean;
  createdAt: Date;
  /** When the key last changed state (its creation if it never did). */
  stateChangedAt: Date;
  /** Days since createdAt (what a rotation policy's maxAgeDays compares). */
  ageDays: number;
  /** Messages sealed under the key (what maxMessages compares), persisted and not yet persisted. */
  encrypted: number;
  /** Messages opened with the key. */
  decrypted: number;
}

export const DAY_MS = 86_400_000;
export const PURPOSE = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;

export function checkPurpose(p: unknown): string {
  if (typeof p !== 'string' || !PURPOSE.test(p))
    throw new TesseraError('ERR_ARGUMENT', `purpose must be 1-128 characters [A-Za-z0-9_.:/-] (got ${describe(p)})`);
  return p;
}

export function checkPolicy(p: RotationPolicy | undefined): RotationPolicy {
  if (p === undefined) return {};
  if (p === null || typeof p !== 'object') throw new TesseraError('ERR_ARGUMENT', 'policy must be an object');
  const out: RotationPolicy = {};
  if (p.maxAgeDays !== undefined) {
    if (typeof p.maxAgeDays !== 'number' || !(p.maxAgeDays > 0) || !Number.isFinite(p.maxAgeDays))
      throw new TesseraError('ERR_ARGUMENT', 'maxAgeDays must be a positive number');
    out.maxAgeDays = p.maxAgeDays;
  }
  if (p.maxMessages !== undefined) {
    if (!Number.isSafeInteger(p.maxMessages) || p.maxMessages < 1) throw new TesseraError('ERR_ARGUMENT', 'maxMessages must be a positive integer');
    out.maxMessages = p.maxMessages;
  }
  return out;
}

/** KEK ids are not secret: quote short printable ones. */
export function kekName(id: string): string {
  return /^[\x21-\x7e]{1,80}$/.test(id) ? JSON.stringify(id) : describe(id);
}

export function codeOf(e: unknown): string {
  return e instanceof TesseraError ? e.code : 'ERR_INTERNAL';
}

export async function unwrapWith(kek: KekProvider, wrapped: string, what: string): Promise<Uint8Array> {
  try {
    return await kek.unwrap(unb64(wrapped));
  } catch (e) {
    throw new TesseraError('ERR_KEK', `${what}: the KEK cannot unwrap it (wrong KEK or passphrase, or altered wrapped bytes)`, { cause: e });
  }
}

/**
 * Is rec, with `pending` unpersisted seals, due for rotation under policy
 * before n more messages are sealed? A batch (n > 1) that would cross
 * maxMessages rotates first, unless the key is unused (a batch larger than
 * maxMessages is sealed whole under a fresh key, overshooting). The clock
 * is read only for a maxAgeDays policy (this runs before every seal).
 */
export function dueBefore(rec: KeyRecord, policy: RotationPolicy, pending: number, n: number, now: () => number): boolean {
  const extra = n > 1 && rec.encrypted + pending > 0 ? pending + n - 1 : pending;
  if (policy.maxMessages !== undefined && rec.encrypted + extra >= policy.maxMessages) return true;
  return policy.maxAgeDays !== undefined && now() - rec.createdAt >= policy.maxAgeDays * DAY_MS;
}

/** A new blind-index key (lib/keys/blind.ts): 32 random bytes wrapped by kek, base64 (PurposeRecord.indexKey). */
export async function newIndexKey(kek: KekProvider): Promise<string> {
  const raw = randomBytes(32);
  try {
    return b64(await kek.wrap(raw));
  } finally {
    raw.fill(0);
  }
}

/** Unwraps purpose's blind-index key (ERR_KEK; ERR_FORMAT unless 32 bytes). Wipe it after use. */
export async function unwrapIndexKey(kek: KekProvider, wrapped: string, purpose: string): Promise<Uint8Array> {
  const raw = await unwrapWith(kek, wrapped, `blind index key of ${describe(purpose)}`);
  if (raw.length === 32) return raw;
  raw.fill(0);
  throw new TesseraError('ERR_FORMAT', `blind index key of ${describe(purpose)}: ${raw.length} bytes, expected 32`);
}

/** A random non-zero uint32 not used in doc (ids are unique across the keyring). */
export function freshId(doc: KeyringDoc): number {
  let id = 0;
  while (id === 0 || doc.keys.some((k) => k.id === id)) id = randomBytes(4).readUInt32BE(0);
  return id;
}

/** The purpose's primary becomes decrypt-only (before a new or re-enabled key takes its place). */
export function demotePrimary(doc: KeyringDoc, purpose: string, t: number, events: PendingEvent[]): void {
  for (const k of doc.keys) {
    if (k.purpose !== purpose || k.state !== 'active') continue;
    k.state = 'decrypt-only';
    k.stateChangedAt = t;
    events.push({ op: 'state', keyId: k.id, purpose, bytes: 0, detail: 'active -> decrypt-only' });
  }
}

/** doc's record of purpose, if any (an own property: 'constructor' is a valid purpose name). */
export function purposeRecord(doc: KeyringDoc, purpose: string): PurposeRecord | undefined {
  return Object.hasOwn(doc.purposes, purpose) ? doc.purposes[purpose] : undefined;
}

/** The record of the key a message names, if it may open it: ERR_KEY_MISMATCH (not in the keyring), ERR_KEY_DESTROYED, ERR_KEY_RETIRED. */
export function usableKey(rec: KeyRecord | undefined, id: number): KeyRecord {
  if (!rec) throw new TesseraError('ERR_KEY_MISMATCH', `no key with id ${id} in this keyring`);
  if (rec.state === 'destroyed') throw new TesseraError('ERR_KEY_DESTROYED', `key ${id} (${rec.purpose}) was destroyed`);
  if (rec.state === 'retired') throw new TesseraError('ERR_KEY_RETIRED', `key ${id} (${rec.purpose}) is retired; re-enable it with setState to use it`);
  return rec;
}

/** A live (not destroyed) key record: ERR_KEY_MISMATCH unknown id, ERR_KEY_DESTROYED. */
export function findLive(doc: KeyringDoc, id: number): KeyRecord {
  const rec = doc.keys.find((k) => k.id === id);
  if (!rec) throw new TesseraError('ERR_KEY_MISMATCH', `no key with id ${describe(id)} in this keyring`);
  if (rec.state === 'destroyed') throw new TesseraError('ERR_KEY_DESTROYED', `key ${id} was destroyed`);
  return rec;
}

/**
 * setState on a draft; returns false when nothing changes. 'active' makes
 * the key the primary (the old one becomes decrypt-only); the primary
 * itself cannot be demoted (there must always be one).
 */
export function applyState(doc: KeyringDoc, id: number, state: KeyState, t: number, events: PendingEvent[]): boolean {
  const rec = findLive(doc, id);
  if (!['active', 'decrypt-only', 'retired'].includes(state)) throw new TesseraError('ERR_ARGUMENT', `unknown key state ${describe(state)}`);
  if (rec.state === state) return false;
  if (rec.state === 'pending' && state !== 'active') throw new TesseraError('ERR_ARGUMENT', `key ${id} is pending: activate or destroy it`);
  if (rec.state === 'active')
    throw new TesseraError('ERR_ARGUMENT', `key ${id} is the primary of ${describe(rec.purpose)}: rotate or activate another key first`);
  if (state === 'active') demotePrimary(doc, rec.purpose, t, events);
  events.push({ op: 'state', keyId: id, purpose: rec.purpose, bytes: 0, detail: `${rec.state} -> ${state}` });
  rec.state = state;
  rec.stateChangedAt = t;
  return true;
}

/** destroy on a draft: the wrapped material leaves the document, the id stays. Not the primary. */
export function applyDestroy(doc: KeyringDoc, id: number, t: number, events: PendingEvent[]): void {
  const rec = findLive(doc, id);
  if (rec.state === 'active') throw new TesseraError('ERR_ARGUMENT', `key ${id} is the primary of ${describe(rec.purpose)}: rotate first`);
  rec.state = 'destroyed';
  rec.stateChangedAt = t;
  delete rec.wrapped;
  events.push({ op: 'destroy', keyId: id, purpose: rec.purpose, bytes: 0 });
}

/** ring.status(): every key with its state, age and use counts (persisted + pending). */
export function statusOf(doc: KeyringDoc, pending: Map<number, [number, number]>, now: number): KeyStatus[] {
  return doc.keys.map((k) => {
    const p = pending.get(k.id);
    return {
      id: k.id,
      purpose: k.purpose,
      algorithm: k.algorithm,
      state: k.state,
      primary: k.state === 'active',
      createdAt: new Date(k.createdAt),
      stateChangedAt: new Date(k.stateChangedAt),
      ageDays: (now - k.createdAt) / DAY_MS,
      encrypted: k.encrypted + (p?.[0] ?? 0),
      decrypted: k.decrypted + (p?.[1] ?? 0),
    };
  });
}

/** Keyring.open's argument checks; returns the KEK. */
export function checkOptions(store: KeyStore, opts: KeyringOptions): KekProvider {
  if (!store || typeof store.load !== 'function' || typeof store.commit !== 'function') throw new TesseraError('ERR_ARGUMENT', 'Keyring.open needs a KeyStore');
  if (!opts || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', 'Keyring.open needs options with a kek');
  const kek = opts.kek;
  if (!kek || typeof kek.id !== 'string' || typeof kek.wrap !== 'function' || typeof kek.unwrap !== 'function')
    throw new TesseraError('ERR_ARGUMENT', 'options.kek must be a KekProvider');
  if (opts.algorithm !== undefined) algorithmId(opts.algorithm);
  const fe = opts.countFlushEvery;
  if (fe !== undefined && (!Number.isSafeInteger(fe) || fe < 1)) throw new TesseraError('ERR_ARGUMENT', 'countFlushEvery must be a positive integer');
  if (opts.now !== undefined && typeof opts.now !== 'function') throw new TesseraError('ERR_ARGUMENT', 'now must be a function');
  return kek;
}

/** Generation 1 of a new keyring: no purposes, a fresh random MAC key wrapped by kek. Wipe raw after use. */
export async function initialDoc(kek: KekProvider): Promise<{ doc: KeyringDoc; raw: Uint8Array }> {
  const raw = randomBytes(32);
  const doc: KeyringDoc = {
    format: 'tessera-keyring',
    version: 1,
    generation: 1,
    kekId: kek.id,
    macKey: b64(await kek.wrap(raw)),
    purposes: {},
    keys: [],
    mac: '',
  };
  // A passphrase KEK (kek.fromPassphrase) exposes its KDF parameters:
  // keep them in the (MAC-covered) document so the KEK can be derived again.
  const params = (kek as Partial<PassphraseKekProvider>).params;
  if (params && params.salt instanceof Uint8Array) doc.kekParams = kdfRecord(params);
  doc.mac = computeMac(raw, doc);
  return { doc, raw };
}

/** Unwraps the document's MAC key (ERR_KEK) and verifies the document with it (ERR_FORMAT). */
export async function macKeyOf(kek: KekProvider, doc: KeyringDoc): Promise<SecureBuffer> {
  if (!answersTo(kek, doc.kekId))
    throw new TesseraError('ERR_KEK', `the keyring is wrapped by KEK ${kekName(doc.kekId)}, not by the given KEK ${kekName(kek.id)}`);
  const raw = await unwrapWith(kek, doc.macKey, 'keyring MAC key');
  try {
    verifyMac(raw, doc, 'key store');
    return SecureBuffer.from(raw);
  } finally {
    raw.fill(0);
  }
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Unwraps rec's key into an AeadKey (secure memory),
 * whose nonce bound continues from the persisted seal count.
 */
export async function importKey(kek: KekProvider, rec: KeyRecord): Promise<AeadKey> {
  const bytes = await unwrapWith(kek, rec.wrapped!, `key ${rec.id}`);
  try {
    const limit = rec.algorithm === 'aes-256-gcm' || rec.algorithm === 'chacha20-poly1305' ? 1n << 32n : U64_MAX;
    const left = limit - BigInt(rec.encrypted);
    return AeadKey.import(rec.algorithm, bytes, { keyId: rec.id, nonceLimit: left > 0n ? left : 0n });
  } finally {
    bytes.fill(0);
  }
}
