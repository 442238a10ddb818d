/*
 * tsr_pool: the crypto worker pool. Fork-join: a
 * caller hands a job of independent tasks to the pool, takes part in it
 * itself, and returns when every task has run. Used for batches of
 * Cobblestone chunks (tsr_chunked_pool), a large GCM message split in two
 * (tsr_gcm_split) and large sealBatch/openBatch calls.
 *
 * Workers are pthreads started on first use. Tasks are claimed one at a time
 * from the job, so a slow core (or a worker busy with another caller's job)
 * never holds the others up; a caller never waits for a task nobody has
 * started, it runs it itself.
 */
#ifndef TSR_POOL_H
#define TSR_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_POOL_MAX 64u

/* Worker threads the pool may run (default: the CPUs this process may use,
 * from sched_getaffinity). n == 0 restores the default; n is capped at
 * TSR_POOL_MAX. Growing starts threads lazily; shrinking lets the extra
 * workers exit once idle. */
void tsr_pool_set_size(unsigned n);
unsigned tsr_pool_size(void);
/* The CPUs available to this process (>= 1). */
unsigned tsr_pool_cpus(void);
/* Tasks handed to the pool that no participant has started yet, over every
 * caller's job: the pool's queue depth (a metric; a snapshot). */
size_t tsr_pool_queued(void);

/*
 * Runs fn(arg, task, participant) for every task in [0, ntasks) on the
 * calling thread (participant 0) and at most width - 1 pool workers
 * (participants 1 .. width - 1; a participant runs its tasks one after the
 * other, so per-participant state such as an AEAD context needs no lock).
 * Returns when every task has finished. width <= 1, a single task, or a pool
 * that cannot start a thread: everything runs here.
 */
void tsr_pool_run(void (*fn)(void *arg, size_t task, unsigned participant), void *arg, size_t ntasks, unsigned width);

/*
 * The same, for a caller that should not compute (a libuv thread serving an
 * async call): up to `width` workers run the tasks (participants 0 ..
 * width - 1) while the caller sleeps. Workers run at a lower scheduling
 * priority (nice + 10), so on a machine whose cores are all busy with
 * crypto the event loop still wakes on time. If no worker can be started the
 * caller runs the tasks itself.
 */
void tsr_pool_run_background(void (*fn)(void *arg, size_t task, unsigned participant), void *arg, size_t ntasks,
                             unsigned width);

/* Runs fn(a) here and fn(b) on a worker (or here too if none is free). */
void tsr_pool_pair(void (*fn)(void *), void *a, void *b);

#ifdef __cplusplus
}
#endif
#endif
