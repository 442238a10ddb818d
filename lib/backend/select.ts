/**
 * Backend selection (DESIGN section 2). Node uses the native addon; the
 * WASM backend (a later issue) registers here under the same interface.
 * There is no silent fallback: if the requested backend cannot load, the
 * caller gets ERR_BACKEND.
 */
import { TesseraError } from '../errors';
import { describe } from '../format';
import { createNativeBackend } from './native';
import type { Backend } from './types';

export type BackendName = 'native' | 'wasm';

let active: Backend | undefined;

export function getBackend(): Backend {
  return (active ??= createNativeBackend());
}

/** Name of the active backend. */
export function backend(): BackendName {
  return getBackend().name;
}

/** Forces a backend. Keys made under one backend stay bound to it. */
export function useBackend(name: BackendName): void {
  if (name === 'native') {
    active = createNativeBackend();
    return;
  }
  if (name === 'wasm') throw new TesseraError('ERR_BACKEND', "the 'wasm' backend is not built yet in this version");
  throw new TesseraError('ERR_BACKEND', `unknown backend ${describe(name)} (expected 'native' or 'wasm')`);
}
