#include "tsr_util.h"

#include <string.h>

void tsr_memzero(void *p, size_t n) {
  /* A volatile function pointer keeps the compiler from proving the store
   * dead, on every toolchain we target (gcc, clang, clang --target=wasm32). */
  static void *(*const volatile memset_v)(void *, int, size_t) = memset;
  memset_v(p, 0, n);
}

__attribute__((noinline)) void tsr_stack_scrub(void) {
  /* The frame of this call covers the region the caller's previous callee
   * (a kernel) used below the caller's frame; zeroing it removes whatever
   * the compiler spilled there (round keys, keystream, accumulators). */
  uint8_t pad[TSR_STACK_SCRUB_BYTES];
  tsr_memzero(pad, sizeof pad);
}

int tsr_ct_compare(const uint8_t *a, const uint8_t *b, size_t n) {
  /* Word-wise xor-accumulate: every byte is read whatever the data, and the
   * result is reduced without a branch. The empty asm keeps the compiler
   * from reasoning about d (and so from adding an early exit). */
  uint64_t d = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    d |= x ^ y;
  }
  for (; i < n; i++) d |= (uint64_t)(a[i] ^ b[i]);
#if defined(__GNUC__) || defined(__clang__)
  __asm__("" : "+r"(d));
#endif
  /* d == 0 -> 0, else -1: fold to 32 bits, then (d | -d) has its top bit set iff d != 0. */
  uint32_t f = (uint32_t)(d | (d >> 32));
  return -(int)((f | (0u - f)) >> 31);
}
