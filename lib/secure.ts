/**
 * Secure memory (DESIGN section 5): the C allocator in native/secmem holds
 * key bytes in mlock'd, guard-paged, no-dump, wipe-on-fork arenas. This
 * module reports on it and makes sure an mlock failure is never silent.
 */
import { getBackend } from './backend/select';
import type { Backend, SecureMemoryStats } from './backend/types';

export type { SecureMemoryStats };

export function secureMemoryStats(): SecureMemoryStats {
  return getBackend().secureMemoryStats();
}

let warnedFailures = 0;

/** Emits a process warning the first time (and each time more) arenas fail to lock. */
export function noteKeyCreated(backend: Backend): void {
  const s = backend.secureMemoryStats();
  if (s.mlockFailures > warnedFailures) {
    warnedFailures = s.mlockFailures;
    process.emitWarning(
      `tessera: ${s.mlockFailures} secure memory arena(s) could not be locked in RAM (RLIMIT_MEMLOCK is ${s.memlockLimit} bytes); ` +
        'key bytes there may be swapped to disk. Raise the limit (ulimit -l) or set TESSERA_SECMEM_STRICT=1 to fail instead.',
      { code: 'TESSERA_MLOCK' },
    );
  }
}
