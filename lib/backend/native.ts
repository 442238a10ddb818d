/**
 * The native backend: the N-API addon (native/node) built by node-gyp at
 * install time, or a prebuild from prebuilds/ when present (node-gyp-build).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TesseraError } from '../errors';
import type { AlgId, Backend, KeyHandle, SecureMemoryStats } from './types';

interface Addon {
  setErrorClass(ctor: typeof TesseraError): void;
  rawSeal: Backend['rawSeal'];
  rawOpen: Backend['rawOpen'];
  rawSealInto: Backend['rawSealInto'];
  rawOpenInto: Backend['rawOpenInto'];
  NativeKey: new (alg: AlgId, key: Uint8Array | undefined, keyId: number, nonceLimit: bigint) => KeyHandle;
  secureMemoryStats(): SecureMemoryStats;
  secureAlloc(n: number): [ArrayBuffer, unknown];
  secureDispose(buffer: ArrayBuffer, handle: unknown): void;
}

// dist/cjs/backend/native.js -> package root is three levels up; lib/backend
// (tests running the TypeScript directly) is two.
function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    dir = path.dirname(dir);
  }
  return path.join(__dirname, '..', '..', '..');
}

let addon: Addon | undefined;

/** The raw addon (also used by the test suite's hooks). */
export function loadAddon(): Addon {
  if (addon) return addon;
  let loaded: Addon;
  try {
    loaded = require('node-gyp-build')(packageRoot()) as Addon;
  } catch (e) {
    throw new TesseraError('ERR_BACKEND', `native backend unavailable: ${(e as Error).message}`);
  }
  loaded.setErrorClass(TesseraError);
  addon = loaded;
  return loaded;
}

export function createNativeBackend(): Backend {
  const a = loadAddon();
  const Key = a.NativeKey;
  return {
    name: 'native',
    rawSeal: a.rawSeal,
    rawOpen: a.rawOpen,
    rawSealInto: a.rawSealInto,
    rawOpenInto: a.rawOpenInto,
    createKey: (alg, key, keyId, nonceLimit) => new Key(alg, key, keyId, nonceLimit),
    secureMemoryStats: a.secureMemoryStats,
    secureAlloc: a.secureAlloc,
    secureDispose: a.secureDispose,
  };
}
