/*
 * Cobblestone runs on the worker pool: a run of
 * consecutive chunks is cut into batches of TSR_CHUNKED_BATCH chunks, and
 * the caller plus up to width - 1 workers seal or open batches, each with its
 * own AEAD context (an EVP context serves one thread at a time). Chunks are
 * independent, so the output is the same as tsr_chunked_seal's byte for byte.
 */
#ifndef TSR_CHUNKED_POOL_H
#define TSR_CHUNKED_POOL_H

#include "../chunked/tsr_chunked.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Chunks per task: 32 x 16 KiB = 512 KiB, ~100 us of AES-GCM on one core
 * here, against a few microseconds to wake a worker and claim a task
 * (bench: chunked batch sweep; docs/BENCHMARKS.md). */
#define TSR_CHUNKED_BATCH 32u

/* The number of tasks a run of `chunks` chunks becomes; participants never
 * exceed it, so callers size their context arrays with
 * min(width, tsr_chunked_pool_tasks(chunks)). */
size_t tsr_chunked_pool_tasks(uint64_t chunks);

/* As tsr_chunked_seal / tsr_chunked_open, on ctxs[0 .. width) (all keyed
 * with the same derived key). On an open failure all of out is zeroed and the
 * status of the first failing chunk in stream order is returned. With
 * `background` the caller only waits (tsr_pool_run_background): async calls. */
tsr_status tsr_chunked_pool_seal(tsr_aead_ctx *const *ctxs, unsigned width, int background,
                                 const uint8_t base_nonce[12], uint64_t counter, const uint8_t *pt, size_t ptlen,
                                 int final, uint8_t *out);
tsr_status tsr_chunked_pool_open(tsr_aead_ctx *const *ctxs, unsigned width, int background,
                                 const uint8_t base_nonce[12], uint64_t counter, const uint8_t *ct, size_t ctlen,
                                 int final, uint8_t *out, size_t *ptlen);

#ifdef __cplusplus
}
#endif
#endif
