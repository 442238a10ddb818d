// Keyring helpers shared by the keyring suites (keyring.test.ts, fields.test.ts).
import { randomBytes } from 'node:crypto';

import { T } from './tessera';

type Options = Parameters<typeof T.Keyring.open>[1];

/**
 * open(extra, file, mk): a Keyring on a FileKeyStore at file (default: fresh())
 * under the KEK of master key mk (default: 32 random bytes), with extra
 * options on top; returns the ring, the file and mk (for reopening).
 */
export function ringOpener(fresh: () => string) {
  return async (extra: Partial<Options> = {}, file = fresh(), mk = randomBytes(32)) => {
    const ring = await T.Keyring.open(new T.FileKeyStore(file), { kek: T.kek.fromKey(mk), ...extra });
    return { ring, file, mk };
  };
}
