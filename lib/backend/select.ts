/**
 * Backend selection (docs/API.md "Backends, and tessera in the browser"). The
 * platform entry registers what it can load: Node (lib/backend/node.ts) the
 * native addon and the WASM module, browsers (lib/browser/index.ts) the
 * WASM module only. A backend that cannot load is ERR_BACKEND when asked
 * for by name; the only automatic choice, Node's default when the addon is
 * missing, is announced with a process warning.
 */
import { TesseraError } from '../errors';
import { describe } from '../format';
import { frontBackend } from '../front/backend';
import type { Backend, Engine } from './types';

export type BackendName = 'native' | 'wasm';

const factories = new Map<BackendName, () => Engine>();
let chooseDefault: (() => Engine) | undefined;
let active: Backend | undefined;
/** One front per engine (lib/front/backend.ts): every Backend lib/ sees is checked there. */
const fronts = new WeakMap<Engine, Backend>();

function front(e: Engine): Backend {
  let b = fronts.get(e);
  if (!b) fronts.set(e, (b = frontBackend(e)));
  return b;
}

/** Called by the platform entry: how to make each engine, and which one is the default. */
export function registerBackend(name: BackendName, factory: () => Engine): void {
  factories.set(name, factory);
}
export function registerDefault(choose: () => Engine): void {
  chooseDefault = choose;
}

export function makeBackend(name: BackendName): Backend {
  const f = factories.get(name);
  if (!f) throw new TesseraError('ERR_BACKEND', `the '${name}' backend is not available on this platform`);
  return front(f());
}

export function getBackend(): Backend {
  if (active) return active;
  if (!chooseDefault) throw new TesseraError('ERR_BACKEND', 'no backend registered (import tessera through its package entry)');
  return (active = front(chooseDefault()));
}

/** Name of the active backend. */
export function backend(): BackendName {
  return getBackend().name;
}

/** Forces a backend for every API from now on. Keys made under one backend stay bound to it. */
export function useBackend(name: BackendName): void {
  if (name !== 'native' && name !== 'wasm') throw new TesseraError('ERR_BACKEND', `unknown backend ${describe(name)} (expected 'native' or 'wasm')`);
  active = makeBackend(name);
}
