/*
 * tsr_outmem: output memory for results handed to JavaScript. Blocks are
 * anonymous mappings, populated when made (the kernel faults them in one
 * call instead of one fault per page on first write; from 2 MiB on
 * transparent huge pages where the kernel allows) and kept
 * after use in per-size free lists, so a steady stream of outputs reuses
 * memory that is already resident instead of paying page faults for fresh
 * pages on every call (docs/API.md "Output memory").
 *
 * The binding hands a block to JS as an external ArrayBuffer whose finalizer
 * calls tsr_outmem_free. Worker threads allocate the outputs of async jobs
 * here, so the mapping and its page faults land on the worker, never on the
 * event loop. Thread-safe (one mutex; every operation is O(1) apart from
 * unmapping).
 *
 * Bounds: blocks cached plus blocks lent out stay within a limit (default
 * 256 MiB, TESSERA_OUTPUT_CACHE_MB or tsr_outmem_set_limit) for callers that
 * ask for a capped allocation (synchronous calls, which fall back to Node's
 * allocator past it); cached blocks idle for TSR_OUTMEM_IDLE_S seconds are
 * unmapped on the next operation.
 */
#ifndef TSR_OUTMEM_H
#define TSR_OUTMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The smallest output that gets a block. Below it glibc's malloc serves
 * Node's allocator from heap memory it already has; from 64 KiB up, measured
 * on Node 24, Node's own allocation costs more than a block handed out as an
 * external buffer (docs/API.md "Output memory"). */
#define TSR_OUTMEM_MIN    ((size_t)64 << 10)
#define TSR_OUTMEM_IDLE_S 30

typedef struct {
  size_t limit;      /* bytes: cached + lent for capped allocations */
  size_t cached;     /* bytes in the free lists */
  size_t lent;       /* bytes handed out and not yet freed */
  uint64_t reused;   /* allocations served from a free list */
  uint64_t mapped;   /* fresh mappings */
  uint64_t unmapped; /* blocks returned to the kernel */
} tsr_outmem_stats;

/*
 * A block of at least len bytes (len >= 1); *cap receives its size, which
 * tsr_outmem_free needs back. With `capped`, NULL instead of a fresh mapping
 * that would take cached + lent past the limit. NULL if mmap fails. A reused
 * block holds bytes of an earlier output: callers write every byte they
 * expose.
 */
uint8_t *tsr_outmem_alloc(size_t len, size_t *cap, int capped);

/* Returns a block to its free list, or unmaps it past the limit (blocks of
 * 32 MiB and more on a short-lived thread: munmap of a large populated
 * mapping takes milliseconds, and the caller may be the event loop). */
void tsr_outmem_free(uint8_t *p, size_t cap);

/* Sets the limit (bytes; 0 restores the default) and trims the cache to it. */
void tsr_outmem_set_limit(size_t bytes);
void tsr_outmem_get_stats(tsr_outmem_stats *s);

#ifdef __cplusplus
}
#endif
#endif
