/**
 * The PKCS#11 bridge's loader and error normalization (docs/ARCHITECTURE.md).
 *
 * - loadPkcs11(): the optional `pkcs11js` package, loaded lazily through
 *   lib/peer.ts (its CKA_/CKM_/CKR_ constants live on the CommonJS module).
 *   Missing -> ERR_BACKEND naming `npm install pkcs11js` (lib/peer.ts).
 * - pkcs11Error(e, what): every failure of a pkcs11js call as a
 *   TesseraError: ERR_PKCS11_PIN for a refused PIN, ERR_PKCS11_DEVICE for
 *   CKR_GENERAL_ERROR (the token failed; never ERR_AUTH, even where SoftHSM
 *   uses it for a failed tag check), ERR_PKCS11 otherwise,
 *   the message naming the CKR_* code (pkcs11js throws Pkcs11Error with the
 *   name for most calls, but plain Errors / NativeErrors for some: the name
 *   is then recovered from the numeric code when there is one).
 */
import { TesseraError } from '../errors';
import { requirePeer } from '../peer';

/** The pkcs11js module object (typed loosely: the package is optional, so its types are not required to build). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- pkcs11js is an optional peer loaded at run time; its types are not available to build against
export type Pkcs11Module = Record<string, any> & { PKCS11: new () => Pkcs11Lib };
/** A pkcs11js PKCS11 instance (the C API, one method per function). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the untyped pkcs11js PKCS11 instance (optional peer, types not available to build against)
export type Pkcs11Lib = Record<string, any>;
/** pkcs11js handles are Buffers. */
export type Handle = Buffer;

let cached: Pkcs11Module | undefined;
/** Test hook: pretend the package is missing (set by tests through _setPkcs11Loader). */
let loader: (() => unknown) | undefined;

export function loadPkcs11(): Pkcs11Module {
  if (cached) return cached;
  const mod = requirePeer<Pkcs11Module>(
    'pkcs11js',
    'the PKCS#11 bridge',
    (m) => (typeof m.PKCS11 !== 'function' || typeof m.CKR_OK !== 'number' ? 'no PKCS11 class or constants' : undefined),
    loader,
  );
  if (!loader) cached = mod;
  return mod;
}

/** Test hook: replace the package loader (undefined restores require('pkcs11js')). */
export function _setPkcs11Loader(fn: (() => unknown) | undefined): void {
  loader = fn;
  cached = undefined;
}

let ckrNames: Map<number, string> | undefined;

/** CKR_* name of a numeric return value (from the module's constants). */
export function ckrName(code: number): string | undefined {
  if (!ckrNames) {
    ckrNames = new Map();
    const mod = cached;
    if (mod) for (const [k, v] of Object.entries(mod)) if (k.startsWith('CKR_') && typeof v === 'number' && !ckrNames.has(v)) ckrNames.set(v, k);
  }
  return ckrNames.get(code);
}

/** The CKR_* name an error carries (message, stack or numeric code), if any. */
export function ckrOf(e: unknown): string | undefined {
  if (e instanceof TesseraError) return (e as TesseraError & { ckr?: string }).ckr;
  const err = e as { message?: unknown; stack?: unknown; code?: unknown } | undefined;
  for (const text of [err?.message, err?.stack]) {
    const m = typeof text === 'string' ? /\b(CKR_[A-Z0-9_]+)/.exec(text) : null;
    if (m) return m[1];
  }
  if (typeof err?.code === 'number' && err.code !== 0) return ckrName(err.code) ?? `CKR_0x${err.code.toString(16).padStart(8, '0')}`;
  return undefined;
}

const PIN_ERRORS = new Set(['CKR_PIN_INCORRECT', 'CKR_PIN_INVALID', 'CKR_PIN_LEN_RANGE', 'CKR_PIN_EXPIRED', 'CKR_PIN_LOCKED']);

/** A TesseraError carrying the CKR name it came from (`ckr`), for callers that act on it. */
export class Pkcs11Failure extends TesseraError {
  readonly ckr: string | undefined;
  constructor(code: 'ERR_PKCS11' | 'ERR_PKCS11_PIN' | 'ERR_PKCS11_DEVICE', ckr: string | undefined, message: string, cause: unknown) {
    super(code, message, { cause });
    this.ckr = ckr;
  }
}

/** e (anything a pkcs11js call threw) as a TesseraError; `what` names the operation. Never includes the PIN or key bytes. */
export function pkcs11Error(e: unknown, what: string): TesseraError {
  if (e instanceof TesseraError) return e;
  const ckr = ckrOf(e);
  if (ckr && PIN_ERRORS.has(ckr)) return new Pkcs11Failure('ERR_PKCS11_PIN', ckr, `${what}: the token refused the PIN (${ckr})`, e);
  if (ckr === 'CKR_GENERAL_ERROR') return new Pkcs11Failure('ERR_PKCS11_DEVICE', ckr, `${what}: the token reported a general error (${ckr})`, e);
  if (ckr) return new Pkcs11Failure('ERR_PKCS11', ckr, `${what} failed: ${ckr}`, e);
  const msg = (e as Error)?.message ?? String(e);
  return new Pkcs11Failure('ERR_PKCS11', undefined, `${what} failed: ${msg.split('\n')[0]}`, e);
}
