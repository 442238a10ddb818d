/**
 * The PKCS#11 bridge's process-wide module state and session pool
 * (lib/hsm/pkcs11.ts describes the design).
 *
 * - acquireModule / releaseModule: one C_Initialize (CKF_OS_LOCKING_OK) per
 *   process and module path, reference-counted; C_Finalize when the last
 *   user releases it. `generation` is bumped on every initialization.
 * - SessionPool: up to `size` R/W sessions on one slot, opened on demand,
 *   each checked out by one caller at a time; further callers wait in FIFO
 *   order. The user logs in with the first session (again only after every
 *   session was closed); CKR_USER_ALREADY_LOGGED_IN is success. A session
 *   released as broken is closed, and a waiter gets a fresh one.
 */
import { createHash, randomBytes } from 'node:crypto';

import { TesseraError } from '../errors';
import { pkcs11Error, ckrOf, type Handle, type Pkcs11Lib, type Pkcs11Module } from './errors';

export interface ModuleState {
  path: string;
  lib: Pkcs11Lib;
  refs: number;
  /** Bumped on every C_Initialize: handles cached under an older generation are stale. */
  generation: number;
  /** We initialized it (so we finalize it); false if something else in the process did. */
  owned: boolean;
  /** Salted digests of the PIN each slot was logged in with by this process (slot id -> digest). */
  logins: Map<string, string>;
  salt: Buffer;
}

const modules = new Map<string, ModuleState>();

export function acquireModule(mod: Pkcs11Module, path: string): ModuleState {
  let st = modules.get(path);
  if (!st) {
    const lib = new mod.PKCS11();
    try {
      lib.load(path);
    } catch (e) {
      throw pkcs11Error(e, `loading PKCS#11 module ${path}`);
    }
    st = { path, lib, refs: 0, generation: 0, owned: false, logins: new Map(), salt: randomBytes(16) };
    modules.set(path, st);
  }
  if (st.refs === 0) {
    try {
      st.lib.C_Initialize({ flags: mod.CKF_OS_LOCKING_OK });
      st.owned = true;
    } catch (e) {
      if (ckrOf(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw pkcs11Error(e, `C_Initialize of ${path}`);
      st.owned = false;
    }
    st.generation++;
  }
  st.refs++;
  return st;
}

export function releaseModule(st: ModuleState): void {
  if (--st.refs > 0) return;
  if (st.owned) {
    try {
      st.lib.C_Finalize();
    } catch {
      // nothing to do: the module is being released
    }
  }
  st.owned = false;
  st.logins.clear();
}

interface Waiter {
  resolve(s: Handle): void;
  reject(e: unknown): void;
}

export class SessionPool {
  readonly #mod: Pkcs11Module;
  readonly #lib: Pkcs11Lib;
  readonly #slot: Handle;
  readonly #pin: string;
  readonly #size: number;
  readonly #free: Handle[] = [];
  readonly #all = new Set<Handle>();
  readonly #waiters: Waiter[] = [];
  #loggedIn = false;

  readonly #st: ModuleState;

  constructor(mod: Pkcs11Module, st: ModuleState, slot: Handle, pin: string, size: number) {
    this.#mod = mod;
    this.#st = st;
    this.#lib = st.lib;
    this.#slot = slot;
    this.#pin = pin;
    this.#size = size;
  }

  /** Sessions currently open. */
  get open(): number {
    return this.#all.size;
  }

  #openSession(): Handle {
    const m = this.#mod;
    let s: Handle;
    try {
      s = this.#lib.C_OpenSession(this.#slot, m.CKF_SERIAL_SESSION | m.CKF_RW_SESSION);
    } catch (e) {
      throw pkcs11Error(e, 'C_OpenSession');
    }
    if (!this.#loggedIn) {
      const slot = this.#slot.toString('hex');
      const digest = createHash('sha256').update(this.#st.salt).update(this.#pin, 'utf8').digest('hex');
      const fail = (e: unknown) => {
        try {
          this.#lib.C_CloseSession(s);
        } catch {
          // already failing
        }
        return e instanceof TesseraError ? e : pkcs11Error(e, 'C_Login');
      };
      try {
        this.#lib.C_Login(s, m.CKU_USER, this.#pin);
        this.#st.logins.set(slot, digest);
      } catch (e) {
        if (ckrOf(e) !== 'CKR_USER_ALREADY_LOGGED_IN') throw fail(e);
        // Login state is shared by the whole process: another provider logged
        // in first. A different PIN must not ride on its login.
        const prev = this.#st.logins.get(slot);
        if (prev !== undefined && prev !== digest)
          throw fail(
            new TesseraError(
              'ERR_PKCS11_PIN',
              'C_Login: the token refused the PIN (CKR_PIN_INCORRECT: the token is logged in by this process with another PIN)',
            ),
          );
      }
      this.#loggedIn = true;
    }
    this.#all.add(s);
    return s;
  }

  acquire(): Promise<Handle> {
    const s = this.#free.pop();
    if (s) return Promise.resolve(s);
    if (this.#all.size < this.#size) {
      try {
        return Promise.resolve(this.#openSession());
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  release(s: Handle, broken: boolean): void {
    if (broken) {
      this.#all.delete(s);
      try {
        this.#lib.C_CloseSession(s);
      } catch {
        // the token already considers it gone
      }
      if (this.#all.size === 0) this.#loggedIn = false;
      const w = this.#waiters.shift();
      if (w) {
        try {
          w.resolve(this.#openSession());
        } catch (e) {
          w.reject(e);
        }
      }
      return;
    }
    const w = this.#waiters.shift();
    if (w) w.resolve(s);
    else this.#free.push(s);
  }

  closeAll(): void {
    for (const s of this.#all) {
      try {
        this.#lib.C_CloseSession(s);
      } catch {
        // closing anyway
      }
    }
    this.#all.clear();
    this.#free.length = 0;
    this.#loggedIn = false;
  }
}
