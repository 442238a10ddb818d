/**
 * Optional peer dependencies (README "Optional packages"): pg, pkcs11js,
 * @aws-sdk/client-kms, prom-client, @opentelemetry/api and
 * better-sqlite3-multiple-ciphers. tessera never loads one at import; the
 * feature that needs it does, on first use, through this one loader, so a
 * missing or broken package is always the same error: ERR_BACKEND, naming
 * the package and the command that installs it.
 */
import { createRequire } from 'node:module';

import { TesseraError } from './errors';

const loaded = new Map<string, unknown>();

/**
 * The package pkg for the feature `who` (used in messages). check returns
 * what the loaded module lacks (e.g. 'no Pool class'), or undefined when it
 * has what `who` needs. load replaces require (tests play a missing package).
 */
export function requirePeer<T>(pkg: string, who: string, check?: (m: T) => string | undefined, load?: () => unknown): T {
  if (!load && loaded.has(pkg)) return loaded.get(pkg) as T;
  let m: T;
  try {
    m = (load ? load() : createRequire(__filename)(pkg)) as T;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if ((code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && String((e as Error).message).includes(pkg))
      throw new TesseraError('ERR_BACKEND', `${who} needs the \`${pkg}\` package, which is not installed: npm install ${pkg}`, { cause: e });
    throw new TesseraError(
      'ERR_BACKEND',
      `${who}: the \`${pkg}\` package failed to load (reinstall it: npm install ${pkg}): ${(e as Error)?.message ?? String(e)}`,
      { cause: e },
    );
  }
  const lacks = m === null || m === undefined ? 'no exports' : check?.(m);
  if (lacks !== undefined) throw new TesseraError('ERR_BACKEND', `${who}: the installed \`${pkg}\` package has ${lacks} (npm install ${pkg})`);
  if (!load) loaded.set(pkg, m);
  return m;
}
