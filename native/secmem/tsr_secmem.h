/*
 * tsr_secmem: a pooled secure allocator for key material.
 *
 * Many small allocations share mmap'd arenas. Each arena is
 *   [guard page][data pages ...][guard page]
 * with the guard pages PROT_NONE, the data pages mlock'd, MADV_DONTDUMP and
 * MADV_WIPEONFORK. Each allocation carries canaries checked on free and is
 * zeroized on free. Where the kernel has memfd_secret(2) and the caller asks
 * for it (TESSERA_SECMEM=memfd_secret), arenas come from it instead (removed
 * from the kernel direct map; see docs/SECURITY.md for the fork trade-off).
 *
 * Thread-safe (one process-wide mutex): Node worker_threads share it.
 */
#ifndef TSR_SECMEM_H
#define TSR_SECMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint64_t locked_bytes;   /* bytes currently mlock'd (or secretmem) */
  uint64_t mapped_bytes;   /* bytes currently mapped, guard pages included */
  uint64_t allocations;    /* live allocations */
  uint64_t arenas;         /* live arenas */
  uint64_t mlock_failures; /* arenas whose mlock failed (e.g. RLIMIT_MEMLOCK) */
  uint64_t memlock_limit;  /* RLIMIT_MEMLOCK soft limit, UINT64_MAX if unlimited */
  int memfd_secret;        /* 1 if arenas come from memfd_secret */
  int wipe_on_fork;        /* 1 if MADV_WIPEONFORK took effect on every arena */
  int dont_dump;           /* 1 if MADV_DONTDUMP took effect on every arena */
} tsr_secmem_stats;
/* The three flags describe the live arenas; all are 0 while there are none.
 * One empty default-size arena is kept cached after everything is freed. */

/* Returns NULL (errno set) when n == 0, n is too large, or mapping fails.
 * mlock failure does NOT fail the allocation: it is counted in
 * mlock_failures and, if TESSERA_SECMEM_STRICT=1, the allocation fails with
 * errno = ENOMEM instead. Returned memory is zeroed and 16-byte aligned.
 * Limits: 1 <= n <= 1 MiB (else EINVAL). In memfd_secret mode the kernel
 * charges secretmem to RLIMIT_MEMLOCK itself; going over it fails with
 * ENOMEM (counted in mlock_failures) rather than silently falling back to
 * ordinary memory. Env vars are read once, on the first allocation.
 * After fork() the child sees blocks from before the fork zeroed (anonymous
 * arenas, MADV_WIPEONFORK) or unmapped (memfd_secret, MADV_DONTFORK). It may
 * allocate new blocks, but freeing a pre-fork block there aborts (its
 * canaries were wiped with it). */
void *tsr_secmem_alloc(size_t n);

/* Zeroizes and releases p (NULL is a no-op). Aborts the process if a canary
 * was overwritten (heap corruption next to key material is not recoverable),
 * and on a double free or a pointer tsr_secmem_alloc did not return. */
void tsr_secmem_free(void *p);

/* Usable size of an allocation returned by tsr_secmem_alloc: the n it was
 * asked for (bytes past n are canary-checked). 0 for NULL; aborts like
 * tsr_secmem_free on a foreign pointer. */
size_t tsr_secmem_size(const void *p);

void tsr_secmem_stats_get(tsr_secmem_stats *out);

#ifdef TSR_TEST_HOOKS
/* Test hook, compiled only with TSR_TEST_HOOKS (the C tests and the test
 * build of the addon, never the addon `npm install` builds): address of the
 * first byte of the guard page after p's arena (NULL if p is in no arena). */
const volatile uint8_t *tsr_secmem_test_guard_after(const void *p);
#endif

#ifdef __cplusplus
}
#endif
#endif
