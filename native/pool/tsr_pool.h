/*
 * tsr_pool: a persistent helper thread for fork-join work inside one call
 * (a large GCM message split in two, a large batch split in two). The
 * chunked engine's multi-worker pool grows out of this (DESIGN section 4).
 */
#ifndef TSR_POOL_H
#define TSR_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

/* Runs fn(b) on the helper thread and fn(a) on the caller, and returns when
 * both have finished. If the helper is busy with another caller's work, or
 * cannot be started, both run here, one after the other: never a wait on
 * somebody else's job, never a failure. */
void tsr_pool_pair(void (*fn)(void *), void *a, void *b);

#ifdef __cplusplus
}
#endif
#endif
