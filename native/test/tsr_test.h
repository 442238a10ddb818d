/* Minimal TAP-style helpers shared by the C tests. */
#ifndef TSR_TEST_H
#define TSR_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tsr_test_n, tsr_test_failed;

#define CHECK(cond, name)                                                       \
  do {                                                                          \
    tsr_test_n++;                                                               \
    if (cond) {                                                                 \
      printf("ok %d - %s\n", tsr_test_n, name);                                 \
    } else {                                                                    \
      tsr_test_failed++;                                                        \
      printf("not ok %d - %s (%s:%d)\n", tsr_test_n, name, __FILE__, __LINE__); \
    }                                                                           \
  } while (0)

static inline int tsr_test_done(void) {
  printf("1..%d\n# %d passed, %d failed\n", tsr_test_n, tsr_test_n - tsr_test_failed, tsr_test_failed);
  return tsr_test_failed ? 1 : 0;
}

static inline void tsr_test_unhex(unsigned char *out, const char *hex) {
  size_t n = strlen(hex) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    out[i] = (unsigned char)v;
  }
}

/* Deterministic test randomness (splitmix64): reproducible runs. Each test
 * calls tsr_test_seed with its own seed at the start of main. */
static uint64_t tsr_test_rng_state;

static inline void tsr_test_seed(uint64_t seed) {
  tsr_test_rng_state = seed;
}

static inline uint64_t tsr_test_rng64(void) {
  uint64_t z = (tsr_test_rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Fills p[0..n) with the low bytes of successive tsr_test_rng64 values. */
static inline void tsr_test_rnd(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)tsr_test_rng64();
}

/* Uniform enough in [0, n) for tests; 0 when n == 0. */
static inline size_t tsr_test_rnd_below(size_t n) {
  return n ? (size_t)(tsr_test_rng64() % n) : 0;
}

#endif
