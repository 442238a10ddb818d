/**
 * What the keyring hands its primitives (docs/API.md "Key manager";
 * docs/ARCHITECTURE.md "Key manager core"): the keyring manages keysets
 * (purposes, key versions, states, rotation, the store, the KEK) and the
 * primitives (keyring-aead.ts, keyring-streaming.ts, keyring-prf.ts) run
 * the data operations with the keys it resolves for them. They see only
 * this narrow interface, never the keyring's fields:
 *
 * - KeySource: the current key of a purpose (primary), a key by the id a
 *   message carries (byId), a purpose's blind-index key, the keyring's file
 *   data keys. This is all a primitive uses.
 * - KeyResolver: a KeySource plus usage recording, which only the
 *   monitoring layer (keyring-monitor.ts) calls: it hands primitives keys
 *   that record their own uses.
 * - failure(e, ctx): how a primitive says what a failed operation was
 *   about (which key, which purpose, how many bytes). It decides nothing;
 *   the monitoring layer turns that into an audit event.
 */
import type { AadOptions } from '../aead';
import type { SecureBuffer } from '../secure';
import type { AuditOp } from './audit';
import type { EnvelopeFiles } from './envelope-file';

/** One key version as a primitive uses it (an AeadKey, or the counting wrapper around one). */
export interface Key {
  readonly keyId: number;
  seal(plaintext: Uint8Array, opts?: AadOptions): Uint8Array;
  open(message: Uint8Array, opts?: AadOptions): Uint8Array;
  sealBatch(plaintexts: Uint8Array[], opts?: AadOptions): Uint8Array[];
  openBatch(messages: Uint8Array[], opts?: AadOptions): Uint8Array[];
}

export interface KeySource {
  /**
   * purpose's primary if it can seal n messages right now (the purpose
   * exists and its rotation policy allows n more); else undefined and
   * prepare(purpose, n) makes it so. Synchronous: the policy check and the
   * seal that follows happen in one tick, so concurrent callers cannot
   * overshoot a maxMessages policy.
   */
  primary(purpose: string, n: number): Key | undefined;
  /** Creates the purpose (autoCreate), rotates it by policy, or persists use counts; ERR_ARGUMENT for an unknown purpose with autoCreate off. */
  prepare(purpose: string, n: number): Promise<void>;
  /** The key a message names: ERR_KEY_MISMATCH (not in this keyring), ERR_KEY_DESTROYED, ERR_KEY_RETIRED. Any purpose. */
  byId(id: number): Key;
  /** The purpose of key id, undefined when it is not in this keyring. */
  purposeOf(id: number): string | undefined;
  /** purpose's blind-index key, made on first use (lib/keys/blind.ts). */
  indexKey(purpose: string): SecureBuffer | Promise<SecureBuffer>;
  /** Keyring files: data keys wrapped by the KEK, with the data-key cache (envelope-file.ts). */
  readonly files: EnvelopeFiles;
  /** ERR_DISPOSED once the keyring is closed. */
  checkOpen(): void;
}

export type KeyUse = 'encrypt' | 'decrypt';

export interface KeyResolver extends KeySource {
  /** Records n messages sealed or opened under key id (use counts, rotation by maxMessages). */
  recordUse(id: number, use: KeyUse, n: number): void;
}

/** What a failed operation was about (never key material or plaintext). */
export interface FailureContext {
  op: AuditOp;
  keyId: number | null;
  purpose: string | null;
  /** The size of the data involved (the message for a decrypt). */
  bytes: number;
  detail?: string;
}

const contexts = new WeakMap<object, FailureContext>();
const reported = new WeakSet<object>();

/** Attaches ctx to e (the innermost operation's context wins) and returns e, for `throw failure(e, ctx)`. */
export function failure(e: unknown, ctx: FailureContext): unknown {
  if (e !== null && typeof e === 'object' && !contexts.has(e)) contexts.set(e, ctx);
  return e;
}

/** The context attached to e, once: a failure is reported by the first wrapper that sees it. */
export function takeFailure(e: unknown): FailureContext | undefined {
  if (e === null || typeof e !== 'object' || reported.has(e)) return undefined;
  const ctx = contexts.get(e);
  if (ctx) reported.add(e);
  return ctx;
}
