#include "tsr_util.h"

#include <string.h>

void tsr_memzero(void *p, size_t n) {
  /* A volatile function pointer keeps the compiler from proving the store
   * dead, on every toolchain we target (gcc, clang, clang --target=wasm32). */
  static void *(*const volatile memset_v)(void *, int, size_t) = memset;
  memset_v(p, 0, n);
}

int tsr_ct_compare(const uint8_t *a, const uint8_t *b, size_t n) {
  volatile uint8_t d = 0;
  for (size_t i = 0; i < n; i++) d |= (uint8_t)(a[i] ^ b[i]);
  /* Map 0 -> 0 and 1..255 -> -1 without a branch on d. */
  return (int)((1 & (((unsigned)d - 1) >> 8)) - 1);
}
