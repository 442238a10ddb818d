/* Minimal TAP-style helpers shared by the C tests. */
#ifndef TSR_TEST_H
#define TSR_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tsr_test_n, tsr_test_failed;

#define CHECK(cond, name)                                               \
  do {                                                                  \
    tsr_test_n++;                                                       \
    if (cond) {                                                         \
      printf("ok %d - %s\n", tsr_test_n, name);                         \
    } else {                                                            \
      tsr_test_failed++;                                                \
      printf("not ok %d - %s (%s:%d)\n", tsr_test_n, name, __FILE__, __LINE__); \
    }                                                                   \
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

#endif
