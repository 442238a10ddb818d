/**
 * PKCS#11 HSM bridge (docs/ARCHITECTURE.md): KEKs that never leave the
 * token, on the optional `pkcs11js` package (lib/hsm/errors.ts loads it).
 *
 *   const hsm = await Pkcs11Provider.open({ module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'prod', pin, pool: 4 });
 *   const ring = await Keyring.open(store, { kek: await hsm.kek({ label: 'kek-1', create: true }) });
 *   ...
 *   await hsm.close();
 *
 * Design:
 * - Initialization: one C_Initialize (CKF_OS_LOCKING_OK) per process and
 *   module path, reference-counted across providers; the last provider to
 *   close calls C_Finalize. Every initialization bumps a generation number:
 *   cached object handles of an older generation are looked up again.
 * - Sessions: a pool of up to `pool` R/W sessions opened on demand, each
 *   checked out exclusively for one operation (a PKCS#11 session never runs
 *   two operations at once); callers beyond the pool wait in FIFO order.
 *   The user logs in once (with the first session; CKR_USER_ALREADY_LOGGED_IN,
 *   as when another provider of the process logged in first, is success).
 *   A session the token reports as closed or invalid is dropped and
 *   replaced.
 * - The long calls (wrap, unwrap, generate, encrypt, decrypt, sign) use
 *   pkcs11js's async forms (libuv thread pool): the event loop keeps running.
 * - close() refuses new calls (ERR_DISPOSED), waits for every call in
 *   flight or queued (finalizing under an async call would crash the
 *   process), closes the sessions, then releases the module.
 * - Keys are found by label or CKA_ID; handles are cached by label/id and
 *   invalidated on CKR_OBJECT_HANDLE_INVALID / CKR_KEY_HANDLE_INVALID (one
 *   retry) or re-initialization.
 *
 * Operations:
 * - wrap/unwrap: CKM_AES_KEY_WRAP_PAD (RFC 5649), output byte-identical to
 *   keywrap.wrapPad under the same AES key. The data key enters the token
 *   as a session-only CKK_GENERIC_SECRET object (extractable), is wrapped,
 *   and destroyed; unwrap creates a session-only, extractable, non-sensitive
 *   object, reads its CKA_VALUE and destroys it. Integrity failure -> ERR_AUTH
 *   when the token says so (CKR_WRAPPED_KEY_INVALID, ...; CKR_GENERAL_ERROR,
 *   SoftHSM's answer, is ERR_PKCS11_DEVICE);
 *   a wrapped length AES-KWP can never produce -> ERR_FORMAT.
 * - encrypt/decrypt: AES-256-GCM in the token for small payloads (up to
 *   64 KiB): 12-byte random IV || ciphertext || 16-byte tag, always
 *   tagBits 128 and the output length checked (SoftHSM silently produces a
 *   0-bit tag without it). Tampered or truncated input -> ERR_AUTH when the
 *   token says so (CKR_ENCRYPTED_DATA_INVALID, ...) or the bridge sees it
 *   (lengths); CKR_GENERAL_ERROR, which SoftHSM returns for a failed tag, is
 *   ERR_PKCS11_DEVICE.
 * - sign/verify: HMAC-SHA256 (CKM_SHA256_HMAC) with a generic secret key
 *   (generateHmacKey), e.g. for blind indexes kept in the HSM.
 * - kek({ label, create }): a KekProvider, id the key's RFC 7512 URI
 *   'pkcs11:serial=<token serial>;object=<label>;type=secret-key' (stores that
 *   recorded the former 'pkcs11:<serial>:<label>' still open)
 *   for Keyring.open(store, { kek }). An existing AES key, whatever made it,
 *   is used as is.
 *
 * Errors: ERR_PKCS11 naming the CKR_* code (lib/hsm/errors.ts), ERR_PKCS11_PIN
 * for a refused PIN, ERR_PKCS11_DEVICE for CKR_GENERAL_ERROR,
 * ERR_PKCS11_UNAVAILABLE without pkcs11js. Never the PIN or key bytes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

import { TesseraError } from '../errors';
import { describe } from '../format';
import type { KekProvider } from '../keys/kek';
import { pkcs11Uri } from '../keys/kek-uri';
import { ckrOf, loadPkcs11, pkcs11Error, Pkcs11Failure, type Handle, type Pkcs11Lib, type Pkcs11Module } from './errors';
import { acquireModule, releaseModule, SessionPool, type ModuleState } from './pool';
import { AUTH_FAILED, bytes, type Pkcs11KeyRef, GCM_IV, GCM_TAG, HANDLE_GONE, kwpLength, MAX_GCM, refKey, SESSION_GONE, slotId, ulong } from './util';

/** Options of Pkcs11Provider.open: the module, the token (slot or label), the PIN and the session pool. */
export interface Pkcs11OpenOptions {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  /** Slot id (as the module numbers it). Give this or tokenLabel. */
  slot?: number | bigint;
  /** Label of the token (trailing blanks ignored). */
  tokenLabel?: string;
  /** User PIN. */
  pin: string;
  /** Number of sessions (default 4). */
  pool?: number;
}

export type { Pkcs11KeyRef } from './util';

/**
 * CKR_GENERAL_ERROR from an unwrap or decrypt: ERR_PKCS11_DEVICE, not
 * ERR_AUTH. The token failed; SoftHSM2 also answers a failed integrity or
 * tag check this way and gives no means to tell the two apart.
 */
function deviceError(what: string, check: string, cause: unknown): Pkcs11Failure {
  return new Pkcs11Failure(
    'ERR_PKCS11_DEVICE',
    'CKR_GENERAL_ERROR',
    `${what}: the token reported a general error (CKR_GENERAL_ERROR): a device fault, or on tokens that report it so (SoftHSM2) a failed ${check} check`,
    cause,
  );
}

export interface Pkcs11KekProvider extends KekProvider {
  readonly label: string;
}

/**
 * A logged-in PKCS#11 token (docs/API.md "HSM key-encryption keys over PKCS#11"): KEKs kept in the HSM, AES-GCM and HMAC-SHA-256 in the token.
 * Needs the optional peer pkcs11js; `open()` it, `close()` when done.
 */
export class Pkcs11Provider {
  /** The token's serial number and label (trailing blanks removed). */
  readonly serial: string;
  readonly tokenLabel: string;
  readonly #mod: Pkcs11Module;
  readonly #st: ModuleState;
  readonly #lib: Pkcs11Lib;
  readonly #pool: SessionPool;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #keys = new Map<string, { handle: Handle; gen: number }>();
  #genLock: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  private constructor(mod: Pkcs11Module, st: ModuleState, slot: Handle, info: { serialNumber: string; label: string }, pin: string, size: number) {
    this.#mod = mod;
    this.#st = st;
    this.#lib = st.lib;
    this.#pool = new SessionPool(mod, st, slot, pin, size);
    this.serial = String(info.serialNumber).trim();
    this.tokenLabel = String(info.label).trim();
  }

  /** Initializes the module (once per process), finds the token, opens a session and logs in. ERR_PKCS11_PIN: wrong PIN. */
  static async open(opts: Pkcs11OpenOptions): Promise<Pkcs11Provider> {
    if (!opts || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', 'Pkcs11Provider.open needs { module, slot | tokenLabel, pin }');
    const { module: path, slot, tokenLabel, pin } = opts;
    const pool = opts.pool ?? 4;
    if (typeof path !== 'string' || path.length === 0)
      throw new TesseraError('ERR_ARGUMENT', `module must be the path of a PKCS#11 library (got ${describe(path)})`);
    if (typeof pin !== 'string' || pin.length === 0) throw new TesseraError('ERR_ARGUMENT', 'pin must be a non-empty string');
    if (!Number.isInteger(pool) || pool < 1 || pool > 256) throw new TesseraError('ERR_ARGUMENT', `pool must be an integer from 1 to 256 (got ${pool})`);
    if ((slot === undefined) === (tokenLabel === undefined)) throw new TesseraError('ERR_ARGUMENT', 'give exactly one of slot and tokenLabel');
    if (slot !== undefined && !((typeof slot === 'number' && Number.isInteger(slot) && slot >= 0) || typeof slot === 'bigint'))
      throw new TesseraError('ERR_ARGUMENT', `slot must be a non-negative integer (got ${describe(slot)})`);
    if (tokenLabel !== undefined && (typeof tokenLabel !== 'string' || tokenLabel.length === 0))
      throw new TesseraError('ERR_ARGUMENT', 'tokenLabel must be a non-empty string');
    const mod = loadPkcs11();
    const st = acquireModule(mod, path);
    let provider: Pkcs11Provider | undefined;
    try {
      const lib = st.lib;
      let slots: Handle[];
      try {
        slots = lib.C_GetSlotList(true);
      } catch (e) {
        throw pkcs11Error(e, 'C_GetSlotList');
      }
      const seen: string[] = [];
      let found: { slot: Handle; info: { serialNumber: string; label: string } } | undefined;
      for (const s of slots) {
        let info: { serialNumber: string; label: string };
        try {
          info = lib.C_GetTokenInfo(s);
        } catch (e) {
          throw pkcs11Error(e, 'C_GetTokenInfo');
        }
        const label = String(info.label).trim();
        seen.push(`slot ${slotId(s)} '${label}'`);
        if (tokenLabel !== undefined ? label === tokenLabel : slotId(s) === BigInt(slot!)) {
          found = { slot: s, info };
          break;
        }
      }
      if (!found) {
        const want = tokenLabel !== undefined ? `token labelled '${tokenLabel}'` : `slot ${slot}`;
        throw new Pkcs11Failure(
          'ERR_PKCS11',
          'CKR_TOKEN_NOT_PRESENT',
          `no ${want} in ${path} (CKR_TOKEN_NOT_PRESENT; tokens: ${seen.join(', ') || 'none'})`,
          undefined,
        );
      }
      provider = new Pkcs11Provider(mod, st, found.slot, found.info, pin, pool);
      // One session now, so that a wrong PIN fails open() itself.
      const s = await provider.#pool.acquire();
      provider.#pool.release(s, false);
      return provider;
    } catch (e) {
      if (provider) provider.#pool.closeAll();
      releaseModule(st);
      throw pkcs11Error(e, 'Pkcs11Provider.open');
    }
  }

  /** The number of sessions currently open (at most `pool`). */
  get sessions(): number {
    return this.#pool.open;
  }

  /** Runs fn on an exclusively checked-out session, tracked for close(); errors normalized (what names the call). */
  #run<T>(what: string, fn: (s: Handle) => Promise<T> | T): Promise<T> {
    if (this.#closing) return Promise.reject(new TesseraError('ERR_DISPOSED', `${what}: the PKCS#11 provider is closed`));
    const p = (async () => {
      const s = await this.#pool.acquire();
      let broken = false;
      try {
        return await fn(s);
      } catch (e) {
        const ckr = ckrOf(e);
        if (ckr && SESSION_GONE.has(ckr)) broken = true;
        throw pkcs11Error(e, what);
      } finally {
        this.#pool.release(s, broken);
      }
    })();
    this.#inflight.add(p);
    const done = () => void this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  // ---- keys ----

  #find(s: Handle, r: ReturnType<typeof refKey>): Handle | undefined {
    const m = this.#mod;
    const lib = this.#lib;
    const template: { type: number; value: unknown }[] = [{ type: m.CKA_CLASS, value: m.CKO_SECRET_KEY }];
    if (r.label !== undefined) template.push({ type: m.CKA_LABEL, value: r.label });
    else template.push({ type: m.CKA_ID, value: r.id });
    let found: Handle[];
    lib.C_FindObjectsInit(s, template);
    try {
      found = lib.C_FindObjects(s, 2);
    } finally {
      lib.C_FindObjectsFinal(s);
    }
    if (found.length > 1) throw new TesseraError('ERR_ARGUMENT', `more than one secret key ${r.name} in token '${this.tokenLabel}': name it by CKA_ID`);
    return found[0];
  }

  /** The key's handle (cached for this initialization of the module), or undefined. */
  #lookup(s: Handle, ref: Pkcs11KeyRef, fresh = false): Handle | undefined {
    const r = refKey(ref);
    const c = this.#keys.get(r.key);
    if (!fresh && c && c.gen === this.#st.generation) return c.handle;
    this.#keys.delete(r.key);
    const h = this.#find(s, r);
    if (h) this.#keys.set(r.key, { handle: h, gen: this.#st.generation });
    return h;
  }

  /** Runs fn with the key's handle; a stale handle is looked up again once. */
  #withKey<T>(what: string, ref: Pkcs11KeyRef, fn: (s: Handle, key: Handle) => Promise<T>): Promise<T> {
    const r = refKey(ref);
    return this.#run(what, async (s) => {
      for (let attempt = 0; ; attempt++) {
        const h = this.#lookup(s, ref, attempt > 0);
        if (!h) throw new TesseraError('ERR_ARGUMENT', `${what}: no secret key ${r.name} in token '${this.tokenLabel}'`);
        try {
          return await fn(s, h);
        } catch (e) {
          const ckr = ckrOf(e);
          if (attempt === 0 && ckr && HANDLE_GONE.has(ckr)) {
            this.#keys.delete(r.key);
            continue;
          }
          throw e;
        }
      }
    });
  }

  /** Whether the token holds a secret key of that label / id. */
  has(ref: Pkcs11KeyRef): Promise<boolean> {
    return this.#run('find key', (s) => this.#lookup(s, ref, true) !== undefined);
  }

  async #generate(what: string, label: string, id: Uint8Array | undefined, mechanism: number, template: { type: number; value: unknown }[]): Promise<void> {
    if (typeof label !== 'string' || label.length === 0) throw new TesseraError('ERR_ARGUMENT', `${what}: label must be a non-empty string`);
    if (id !== undefined) bytes(id, 'id', 1, 64);
    const m = this.#mod;
    // Serialized per provider, so that kek({ create: true }) racing itself makes one key.
    const run = this.#genLock.then(() =>
      this.#run(what, async (s) => {
        if (this.#lookup(s, label, true))
          throw new TesseraError('ERR_ARGUMENT', `${what}: token '${this.tokenLabel}' already holds a secret key labelled '${label}'`);
        const t = [...template, { type: m.CKA_CLASS, value: m.CKO_SECRET_KEY }, { type: m.CKA_LABEL, value: label }];
        if (id) t.push({ type: m.CKA_ID, value: Buffer.from(id) });
        const h: Handle = await this.#lib.C_GenerateKeyAsync(s, { mechanism }, t);
        this.#keys.set(`label:${label}`, { handle: h, gen: this.#st.generation });
      }),
    );
    this.#genLock = run.catch(() => undefined);
    return run;
  }

  /**
   * A new AES-256 KEK in the token: CKA_TOKEN, CKA_PRIVATE and CKA_SENSITIVE
   * true, CKA_EXTRACTABLE false, usable for wrap/unwrap/encrypt/decrypt.
   * ERR_ARGUMENT if the label is taken.
   */
  generateKek(opts: { label: string; id?: Uint8Array }): Promise<void> {
    const m = this.#mod;
    return this.#generate('generateKek', opts?.label, opts?.id, m.CKM_AES_KEY_GEN, [
      { type: m.CKA_KEY_TYPE, value: m.CKK_AES },
      { type: m.CKA_VALUE_LEN, value: 32 },
      { type: m.CKA_TOKEN, value: true },
      { type: m.CKA_PRIVATE, value: true },
      { type: m.CKA_SENSITIVE, value: true },
      { type: m.CKA_EXTRACTABLE, value: false },
      { type: m.CKA_WRAP, value: true },
      { type: m.CKA_UNWRAP, value: true },
      { type: m.CKA_ENCRYPT, value: true },
      { type: m.CKA_DECRYPT, value: true },
    ]);
  }

  /** A new 256-bit HMAC key (CKK_GENERIC_SECRET, sign/verify only, sensitive, non-extractable) in the token. */
  generateHmacKey(opts: { label: string; id?: Uint8Array }): Promise<void> {
    const m = this.#mod;
    return this.#generate('generateHmacKey', opts?.label, opts?.id, m.CKM_GENERIC_SECRET_KEY_GEN, [
      { type: m.CKA_KEY_TYPE, value: m.CKK_GENERIC_SECRET },
      { type: m.CKA_VALUE_LEN, value: 32 },
      { type: m.CKA_TOKEN, value: true },
      { type: m.CKA_PRIVATE, value: true },
      { type: m.CKA_SENSITIVE, value: true },
      { type: m.CKA_EXTRACTABLE, value: false },
      { type: m.CKA_SIGN, value: true },
      { type: m.CKA_VERIFY, value: true },
    ]);
  }

  /**
   * A KekProvider whose key is the token's AES key of that label (made by
   * anything; `create: true` generates it when missing). ERR_ARGUMENT if
   * there is no such key, or it is not an AES key.
   */
  async kek(opts: { label: string; create?: boolean }): Promise<Pkcs11KekProvider> {
    const label = opts?.label;
    if (typeof label !== 'string' || label.length === 0) throw new TesseraError('ERR_ARGUMENT', 'kek: label must be a non-empty string');
    const m = this.#mod;
    const keyType = async () =>
      this.#run('kek', (s) => {
        const h = this.#lookup(s, label, true);
        if (!h) return undefined;
        const [attr] = this.#lib.C_GetAttributeValue(s, h, [{ type: m.CKA_KEY_TYPE }]) as { value: Buffer }[];
        return ulong(attr!.value);
      });
    let type = await keyType();
    if (type === undefined && opts.create) {
      try {
        await this.generateKek({ label });
      } catch (e) {
        // Made meanwhile by a concurrent kek({ create: true }): use it.
        if (!(e instanceof TesseraError && e.code === 'ERR_ARGUMENT' && /already holds/.test(e.message))) throw e;
      }
      type = await keyType();
    }
    if (type === undefined)
      throw new TesseraError('ERR_ARGUMENT', `kek: no secret key labelled '${label}' in token '${this.tokenLabel}' (pass create: true to generate one)`);
    if (type !== m.CKK_AES) throw new TesseraError('ERR_ARGUMENT', `kek: the key labelled '${label}' is not an AES key (CKA_KEY_TYPE ${type})`);
    return Object.freeze({
      // RFC 7512 (kek.fromUri reads it back); earlier versions recorded 'pkcs11:<serial>:<label>'.
      id: pkcs11Uri(this.serial, label),
      formerIds: [`pkcs11:${this.serial}:${label}`],
      label,
      wrap: (dataKey: Uint8Array) => this.wrap(label, dataKey),
      unwrap: (wrapped: Uint8Array) => this.unwrap(label, wrapped),
    });
  }

  // ---- operations ----

  /** dataKey wrapped by the AES key with CKM_AES_KEY_WRAP_PAD (= keywrap.wrapPad under the same key). */
  wrap(kekRef: Pkcs11KeyRef, dataKey: Uint8Array): Promise<Uint8Array> {
    try {
      bytes(dataKey, 'wrap: dataKey', 8, 4096);
      // SoftHSM 2.6 wraps a key whose length is not a multiple of 8 as if it
      // were zero-padded to one (a different AES-KWP output, and unwrap then
      // returns the padded length): refused rather than risk it with any token.
      if (dataKey.length % 8 !== 0) throw new TesseraError('ERR_ARGUMENT', `wrap: the data key must be a multiple of 8 bytes long (got ${dataKey.length})`);
    } catch (e) {
      return Promise.reject(e);
    }
    const m = this.#mod;
    const lib = this.#lib;
    return this.#withKey('wrap', kekRef, async (s, kek) => {
      const value = Buffer.from(dataKey);
      let obj: Handle;
      try {
        obj = lib.C_CreateObject(s, [
          { type: m.CKA_CLASS, value: m.CKO_SECRET_KEY },
          { type: m.CKA_KEY_TYPE, value: m.CKK_GENERIC_SECRET },
          { type: m.CKA_TOKEN, value: false },
          { type: m.CKA_PRIVATE, value: true },
          { type: m.CKA_SENSITIVE, value: true },
          { type: m.CKA_EXTRACTABLE, value: true },
          { type: m.CKA_VALUE, value },
        ]);
      } finally {
        value.fill(0);
      }
      try {
        const out: Buffer = await lib.C_WrapKeyAsync(s, { mechanism: m.CKM_AES_KEY_WRAP_PAD }, kek, obj, Buffer.alloc(kwpLength(dataKey.length) + 8));
        if (out.length !== kwpLength(dataKey.length))
          throw new TesseraError('ERR_PKCS11', `wrap: the token returned ${out.length} bytes of AES-KWP output (expected ${kwpLength(dataKey.length)})`);
        return new Uint8Array(out);
      } finally {
        lib.C_DestroyObject(s, obj);
      }
    });
  }

  /** The data key that wrap made. ERR_AUTH: wrong KEK or altered; ERR_FORMAT: a length AES-KWP never produces. */
  unwrap(kekRef: Pkcs11KeyRef, wrapped: Uint8Array): Promise<Uint8Array> {
    try {
      bytes(wrapped, 'unwrap: wrapped', 0, 4096 + 16);
      if (wrapped.length < 16 || wrapped.length % 8 !== 0)
        throw new TesseraError('ERR_FORMAT', `unwrap: AES-KWP output is a multiple of 8 bytes, at least 16 (got ${wrapped.length})`);
    } catch (e) {
      return Promise.reject(e);
    }
    const m = this.#mod;
    const lib = this.#lib;
    return this.#withKey('unwrap', kekRef, async (s, kek) => {
      let obj: Handle;
      try {
        obj = await lib.C_UnwrapKeyAsync(s, { mechanism: m.CKM_AES_KEY_WRAP_PAD }, kek, Buffer.from(wrapped), [
          { type: m.CKA_CLASS, value: m.CKO_SECRET_KEY },
          { type: m.CKA_KEY_TYPE, value: m.CKK_GENERIC_SECRET },
          { type: m.CKA_TOKEN, value: false },
          { type: m.CKA_PRIVATE, value: true },
          { type: m.CKA_SENSITIVE, value: false },
          { type: m.CKA_EXTRACTABLE, value: true },
        ]);
      } catch (e) {
        const ckr = ckrOf(e);
        if (ckr && AUTH_FAILED.has(ckr))
          throw new TesseraError('ERR_AUTH', `unwrap: AES-KWP integrity check failed (${ckr}): wrong KEK or altered data`, { cause: e });
        if (ckr === 'CKR_GENERAL_ERROR') throw deviceError('unwrap', 'AES-KWP integrity', e);
        throw e;
      }
      try {
        const [attr] = lib.C_GetAttributeValue(s, obj, [{ type: m.CKA_VALUE }]) as { value: Buffer }[];
        const out = new Uint8Array(attr!.value);
        attr!.value.fill(0);
        return out;
      } finally {
        lib.C_DestroyObject(s, obj);
      }
    });
  }

  /** AES-256-GCM in the token: IV (12) || ciphertext || tag (16). Up to 64 KiB. */
  encrypt(keyRef: Pkcs11KeyRef, plaintext: Uint8Array, opts: { aad?: Uint8Array } = {}): Promise<Uint8Array> {
    let aad: Uint8Array | undefined;
    try {
      bytes(plaintext, 'encrypt: plaintext', 0, MAX_GCM);
      aad = opts?.aad === undefined ? undefined : bytes(opts.aad, 'encrypt: aad', 0, MAX_GCM);
    } catch (e) {
      return Promise.reject(e);
    }
    const lib = this.#lib;
    return this.#withKey('encrypt', keyRef, async (s, key) => {
      const iv = randomBytes(GCM_IV);
      lib.C_EncryptInit(s, this.#gcm(iv, aad), key);
      const ct: Buffer = await lib.C_EncryptAsync(s, Buffer.from(plaintext), Buffer.alloc(plaintext.length + GCM_TAG + 16));
      if (ct.length !== plaintext.length + GCM_TAG)
        throw new TesseraError(
          'ERR_PKCS11',
          `encrypt: the token returned ${ct.length} bytes for ${plaintext.length} bytes of AES-GCM input (expected a 16-byte tag)`,
        );
      const out = new Uint8Array(GCM_IV + ct.length);
      out.set(iv, 0);
      out.set(ct, GCM_IV);
      return out;
    });
  }

  /** The plaintext of encrypt's output. ERR_AUTH: wrong key, AAD, or altered / truncated ciphertext. */
  decrypt(keyRef: Pkcs11KeyRef, sealed: Uint8Array, opts: { aad?: Uint8Array } = {}): Promise<Uint8Array> {
    let aad: Uint8Array | undefined;
    try {
      bytes(sealed, 'decrypt: ciphertext', 0, MAX_GCM + GCM_IV + GCM_TAG);
      aad = opts?.aad === undefined ? undefined : bytes(opts.aad, 'decrypt: aad', 0, MAX_GCM);
      if (sealed.length < GCM_IV + GCM_TAG)
        throw new TesseraError('ERR_AUTH', `decrypt: an AES-GCM message is at least ${GCM_IV + GCM_TAG} bytes (got ${sealed.length}): truncated`);
    } catch (e) {
      return Promise.reject(e);
    }
    const lib = this.#lib;
    return this.#withKey('decrypt', keyRef, async (s, key) => {
      const iv = Buffer.from(sealed.subarray(0, GCM_IV));
      const body = Buffer.from(sealed.subarray(GCM_IV));
      lib.C_DecryptInit(s, this.#gcm(iv, aad), key);
      let pt: Buffer;
      try {
        pt = await lib.C_DecryptAsync(s, body, Buffer.alloc(body.length));
      } catch (e) {
        const ckr = ckrOf(e);
        if (ckr && AUTH_FAILED.has(ckr))
          throw new TesseraError('ERR_AUTH', `decrypt: AES-GCM authentication failed (${ckr}): wrong key or AAD, or altered data`, { cause: e });
        if (ckr === 'CKR_GENERAL_ERROR') throw deviceError('decrypt', 'AES-GCM tag', e);
        throw e;
      }
      if (pt.length !== body.length - GCM_TAG) {
        pt.fill(0);
        throw new TesseraError(
          'ERR_AUTH',
          `decrypt: the token returned ${pt.length} bytes for ${body.length} bytes of AES-GCM input (expected a 16-byte tag checked)`,
        );
      }
      return new Uint8Array(pt);
    });
  }

  #gcm(iv: Buffer, aad: Uint8Array | undefined): { mechanism: number; parameter: Record<string, unknown> } {
    const m = this.#mod;
    const parameter: Record<string, unknown> = { type: m.CK_PARAMS_AES_GCM, iv, ivBits: GCM_IV * 8, tagBits: GCM_TAG * 8 };
    if (aad && aad.length > 0) parameter.aad = Buffer.from(aad);
    return { mechanism: m.CKM_AES_GCM, parameter };
  }

  /** HMAC-SHA256 (CKM_SHA256_HMAC) of data under a generic secret key in the token: 32 bytes. */
  sign(keyRef: Pkcs11KeyRef, data: Uint8Array): Promise<Uint8Array> {
    try {
      bytes(data, 'sign: data', 0, 1 << 20);
    } catch (e) {
      return Promise.reject(e);
    }
    const m = this.#mod;
    const lib = this.#lib;
    return this.#withKey('sign', keyRef, async (s, key) => {
      lib.C_SignInit(s, { mechanism: m.CKM_SHA256_HMAC }, key);
      const mac: Buffer = await lib.C_SignAsync(s, Buffer.from(data), Buffer.alloc(64));
      if (mac.length !== 32) throw new TesseraError('ERR_PKCS11', `sign: the token returned a ${mac.length}-byte HMAC-SHA256 (expected 32)`);
      return new Uint8Array(mac);
    });
  }

  /** Whether mac is the HMAC-SHA256 of data under the key (compared in constant time). */
  async verify(keyRef: Pkcs11KeyRef, data: Uint8Array, mac: Uint8Array): Promise<boolean> {
    bytes(mac, 'verify: mac');
    const want = await this.sign(keyRef, data);
    return mac.length === want.length && timingSafeEqual(want, mac);
  }

  /**
   * Escape hatch: fn runs with the raw pkcs11js instance, its module object
   * (constants) and an exclusively checked-out, logged-in session. Errors
   * are normalized; close() waits for it like any other call.
   * @inlineType Pkcs11Lib
   * @inlineType Pkcs11Module
   * @inlineType Handle
   */
  withSession<T>(fn: (ctx: { pkcs11: Pkcs11Lib; module: Pkcs11Module; session: Handle }) => Promise<T> | T): Promise<T> {
    return this.#run('withSession', (s) => fn({ pkcs11: this.#lib, module: this.#mod, session: s }));
  }

  /** Forgets cached key handles (they are looked up again on next use). */
  invalidate(): void {
    this.#keys.clear();
  }

  /**
   * Refuses new calls, waits for every call in flight or queued, closes the
   * sessions and releases the module (C_Finalize when no other provider of
   * this process uses it). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
      this.#pool.closeAll();
      this.#keys.clear();
      releaseModule(this.#st);
    })();
    return this.#closing;
  }
}
