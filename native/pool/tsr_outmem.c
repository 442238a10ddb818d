/*
 * tsr_outmem: see tsr_outmem.h. Size classes are quarter steps between powers
 * of two (2^k, 1.25 * 2^k, 1.5 * 2^k, 1.75 * 2^k), so a block wastes less than
 * a quarter of its size and every class has one LIFO free list: the most
 * recently freed block, the one most likely still in cache, goes out first.
 * A free block's first bytes hold its list link and the time it was freed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tsr_outmem.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <stdint.h>
#include <time.h>

#define CLASSES   (64 * 4)
#define BIG_UNMAP ((size_t)32 << 20)
#define HUGE      ((size_t)2 << 20)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

typedef struct free_block {
  struct free_block *next;
  time_t freed;
} free_block;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static free_block *g_free[CLASSES];
static tsr_outmem_stats g_stats;
static int g_limit_set;
static time_t g_last_trim;

static size_t default_limit(void) {
  const char *v = getenv("TESSERA_OUTPUT_CACHE_MB");
  return (v && *v) ? (size_t)strtoull(v, NULL, 10) << 20 : (size_t)256 << 20;
}

static size_t limit_locked(void) {
  if (!g_limit_set) {
    g_stats.limit = default_limit();
    g_limit_set = 1;
  }
  return g_stats.limit;
}

/* The class of len and its block size. */
static unsigned class_of(size_t len, size_t *size) {
  if (len < TSR_OUTMEM_MIN) len = TSR_OUTMEM_MIN;
  unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)len);
  size_t base = (size_t)1 << k, step = base / 4;
  size_t m = (len - base + step - 1) / step; /* 0..4 */
  if (m == 4) {
    k++;
    m = 0;
    base <<= 1;
  }
  *size = base + m * (base / 4);
  return k * 4 + (unsigned)m;
}

static time_t now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

static void *unmap_thread(void *arg) {
  free_block *b = arg;
  size_t cap = (size_t)b->freed; /* the size travels in the link's second word */
  munmap(b, cap);
  return NULL;
}

static void unmap_block(void *p, size_t cap) {
  if (cap >= BIG_UNMAP) {
    pthread_t t;
    pthread_attr_t a;
    free_block *b = p;
    b->freed = (time_t)cap;
    if (pthread_attr_init(&a) == 0) {
      int ok =
          pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) == 0 && pthread_create(&t, &a, unmap_thread, b) == 0;
      pthread_attr_destroy(&a);
      if (ok) return;
    }
  }
  munmap(p, cap);
}

/* A list of blocks to unmap once the lock is released. */
typedef struct {
  void *p[16];
  size_t cap[16];
  unsigned n;
} doomed;

/* Takes cached blocks off the lists, idle ones (or all, down to `keep`
 * bytes cached) first by class from the largest, at most 16 per call. */
static void trim_locked(doomed *d, size_t keep, time_t now, int idle_only) {
  for (int c = CLASSES - 1; c >= 0 && d->n < 16; c--) {
    size_t size = ((size_t)1 << (c / 4)) + (size_t)(c % 4) * (((size_t)1 << (c / 4)) / 4);
    free_block **pp = &g_free[c];
    while (*pp && d->n < 16) {
      free_block *b = *pp;
      int drop = idle_only ? now - b->freed >= TSR_OUTMEM_IDLE_S : g_stats.cached > keep;
      if (!drop) {
        pp = &b->next;
        continue;
      }
      *pp = b->next;
      g_stats.cached -= size;
      g_stats.unmapped++;
      d->p[d->n] = b;
      d->cap[d->n++] = size;
    }
  }
}

static void release(doomed *d) {
  for (unsigned i = 0; i < d->n; i++) unmap_block(d->p[i], d->cap[i]);
}

/* Once a second at most: blocks idle past TSR_OUTMEM_IDLE_S go. */
static void idle_trim_locked(doomed *d) {
  time_t now = now_s();
  if (now == g_last_trim) return;
  g_last_trim = now;
  trim_locked(d, 0, now, 1);
}

/*
 * A new block. From 2 MiB it is aligned to 2 MiB and advised
 * MADV_HUGEPAGE, so that where transparent huge pages are enabled
 * ("always" or "madvise" in /sys/kernel/mm/transparent_hugepage/enabled)
 * it is backed by 2 MiB pages: measured on the 2-core test VM, populating a
 * 64 MiB block took 4 ms instead of 16 ms and writing it ran at 31-34 GB/s
 * instead of 7-8 GB/s (TLB and nested-paging misses per 4 KiB page). Either
 * way every page is populated here, before the block is used.
 */
static void *map_block(size_t size) {
  if (size < HUGE) {
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return m == MAP_FAILED ? NULL : m;
  }
  size_t span = size + HUGE;
  uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return NULL;
  uint8_t *p = (uint8_t *)(((uintptr_t)m + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
  if (p > m) munmap(m, (size_t)(p - m));
  size_t tail = (size_t)((m + span) - (p + size));
  if (tail) munmap(p + size, tail);
  (void)madvise(p, size, MADV_HUGEPAGE); /* THP "never": stays 4 KiB pages */
  if (madvise(p, size, MADV_POPULATE_WRITE) != 0) {
    for (size_t i = 0; i < size; i += 4096) ((volatile uint8_t *)p)[i] = 0; /* older kernels */
  }
  return p;
}

uint8_t *tsr_outmem_alloc(size_t len, size_t *cap, int capped) {
  size_t size;
  unsigned c = class_of(len ? len : 1, &size);
  doomed d = {.n = 0};
  uint8_t *p = NULL;
  pthread_mutex_lock(&g_lock);
  idle_trim_locked(&d);
  if (g_free[c]) {
    free_block *b = g_free[c];
    g_free[c] = b->next;
    g_stats.cached -= size;
    g_stats.lent += size;
    g_stats.reused++;
    p = (uint8_t *)b;
  } else if (!capped || g_stats.cached + g_stats.lent + size <= limit_locked()) {
    g_stats.lent += size; /* reserved before the mapping exists, so racing callers respect the cap */
    g_stats.mapped++;
  } else {
    pthread_mutex_unlock(&g_lock);
    release(&d);
    return NULL;
  }
  pthread_mutex_unlock(&g_lock);
  release(&d);
  if (!p) {
    void *m = map_block(size);
    if (!m) {
      pthread_mutex_lock(&g_lock);
      g_stats.lent -= size;
      g_stats.mapped--;
      pthread_mutex_unlock(&g_lock);
      return NULL;
    }
    p = m;
  }
  *cap = size;
  return p;
}

void tsr_outmem_free(uint8_t *p, size_t cap) {
  if (!p) return;
  doomed d = {.n = 0};
  size_t size;
  unsigned c = class_of(cap, &size);
  int keep;
  pthread_mutex_lock(&g_lock);
  g_stats.lent -= cap;
  keep = size == cap && g_stats.cached + cap <= limit_locked();
  if (keep) {
    free_block *b = (free_block *)p;
    b->next = g_free[c];
    b->freed = now_s();
    g_free[c] = b;
    g_stats.cached += cap;
  } else {
    g_stats.unmapped++;
  }
  idle_trim_locked(&d);
  pthread_mutex_unlock(&g_lock);
  release(&d);
  if (!keep) unmap_block(p, cap);
}

void tsr_outmem_set_limit(size_t bytes) {
  doomed d;
  pthread_mutex_lock(&g_lock);
  g_stats.limit = bytes ? bytes : default_limit();
  g_limit_set = 1;
  do {
    d.n = 0;
    trim_locked(&d, g_stats.limit, 0, 0);
    pthread_mutex_unlock(&g_lock);
    release(&d);
    pthread_mutex_lock(&g_lock);
  } while (d.n == 16);
  pthread_mutex_unlock(&g_lock);
}

void tsr_outmem_get_stats(tsr_outmem_stats *s) {
  pthread_mutex_lock(&g_lock);
  limit_locked();
  *s = g_stats;
  pthread_mutex_unlock(&g_lock);
}
