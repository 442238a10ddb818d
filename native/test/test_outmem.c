/*
 * Tests for native/pool/tsr_outmem.c: size classes (a block fits and wastes
 * less than a quarter), LIFO reuse of freed blocks, the limit for capped
 * allocations, trimming on a lower limit, and concurrent alloc/free from
 * several threads (run under ASan/TSan by scripts/ctest.mjs's sanitizer
 * build).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <string.h>

#include "../pool/tsr_outmem.h"
#include "tsr_test.h"

static void test_classes(void) {
  size_t lens[] = {1,      4096,    TSR_OUTMEM_MIN - 1, TSR_OUTMEM_MIN, TSR_OUTMEM_MIN + 1,
                   100000, 1 << 20, (1 << 20) + 1,      5 << 20,        (64 << 20) + 72};
  int fits = 1, snug = 1, paged = 1;
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    size_t cap = 0;
    uint8_t *p = tsr_outmem_alloc(lens[i], &cap, 0);
    CHECK(p != NULL, "alloc succeeds");
    if (!p) continue;
    memset(p, 0xA5, lens[i]); /* every byte writable */
    fits &= cap >= lens[i];
    size_t want = lens[i] < TSR_OUTMEM_MIN ? TSR_OUTMEM_MIN : lens[i];
    snug &= cap - want < cap / 4 + 1;
    paged &= (cap & 4095) == 0;
    tsr_outmem_free(p, cap);
  }
  CHECK(fits, "a block holds the requested length");
  CHECK(snug, "a block wastes less than a quarter of its size");
  CHECK(paged, "block sizes are whole pages");
}

static void test_reuse(void) {
  tsr_outmem_stats a, b;
  size_t c1, c2, c3;
  uint8_t *p = tsr_outmem_alloc(3 << 20, &c1, 0);
  uint8_t *q = tsr_outmem_alloc(3 << 20, &c2, 0);
  CHECK(p && q && p != q, "two live blocks are distinct");
  tsr_outmem_free(q, c2);
  tsr_outmem_get_stats(&a);
  uint8_t *r = tsr_outmem_alloc((3 << 20) - 100, &c3, 0); /* same class */
  tsr_outmem_get_stats(&b);
  CHECK(r == q && c3 == c2, "the most recently freed block of the class comes back first");
  CHECK(b.reused == a.reused + 1 && b.mapped == a.mapped, "reuse is counted and maps nothing");
  CHECK(b.lent == a.lent + c3 && b.cached == a.cached - c3, "lent and cached move by the block size");
  tsr_outmem_free(p, c1);
  tsr_outmem_free(r, c3);
}

static void test_limit(void) {
  tsr_outmem_stats s;
  tsr_outmem_set_limit(1);
  tsr_outmem_get_stats(&s);
  CHECK(s.cached == 0, "a 1-byte limit empties the cache");
  tsr_outmem_set_limit(8 << 20);
  tsr_outmem_get_stats(&s);
  CHECK(s.limit == (8u << 20) && s.cached <= (8u << 20), "a lower limit trims the cache to it");
  size_t caps[8];
  uint8_t *ps[8];
  int got = 0;
  for (int i = 0; i < 8; i++) {
    ps[i] = tsr_outmem_alloc(2 << 20, &caps[i], 1);
    if (ps[i]) got++;
  }
  tsr_outmem_get_stats(&s);
  CHECK(got == 4 && s.lent + s.cached <= (8u << 20), "capped allocations stop at the limit");
  size_t cu;
  uint8_t *u = tsr_outmem_alloc(2 << 20, &cu, 0);
  CHECK(u != NULL, "uncapped allocations (async jobs) go past it");
  tsr_outmem_free(u, cu);
  for (int i = 0; i < 8; i++)
    if (ps[i]) tsr_outmem_free(ps[i], caps[i]);
  tsr_outmem_get_stats(&s);
  CHECK(s.cached <= (8u << 20), "frees past the limit unmap instead of caching");
  tsr_outmem_set_limit(0);
  tsr_outmem_get_stats(&s);
  CHECK(s.limit > (8u << 20), "0 restores the default limit");
}

static void *churn(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  for (int i = 0; i < 2000; i++) {
    seed = seed * 1103515245u + 12345u;
    size_t len = TSR_OUTMEM_MIN + (seed >> 8) % (2u << 20), cap;
    uint8_t *p = tsr_outmem_alloc(len, &cap, (int)(seed & 1));
    if (!p) continue;
    p[0] = 1;
    p[len - 1] = 2;
    tsr_outmem_free(p, cap);
  }
  return NULL;
}

static void test_threads(void) {
  pthread_t t[4];
  for (uintptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, churn, (void *)(i + 1));
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  tsr_outmem_stats s;
  tsr_outmem_get_stats(&s);
  CHECK(s.lent == 0, "after concurrent alloc/free nothing is lent");
  CHECK(s.cached <= s.limit, "and the cache is within its limit");
}

int main(void) {
  test_classes();
  test_reuse();
  test_limit();
  test_threads();
  return tsr_test_done();
}
