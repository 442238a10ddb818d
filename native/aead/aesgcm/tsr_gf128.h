/*
 * tsr_gf128: arithmetic in GF(2^128) with GCM's bit order (NIST SP 800-38D
 * section 6.3), used to combine GHASH values computed over separate parts of
 * a message. Constant time: no branch or index depends on the operands.
 */
#ifndef TSR_GF128_H
#define TSR_GF128_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A block as two big-endian halves: hi = bytes 0..7, lo = bytes 8..15. */
typedef struct {
  uint64_t hi, lo;
} tsr_gf128;

tsr_gf128 tsr_gf128_load(const uint8_t b[16]);
void tsr_gf128_store(uint8_t b[16], tsr_gf128 x);
tsr_gf128 tsr_gf128_xor(tsr_gf128 a, tsr_gf128 b);
/* x * y (SP 800-38D Algorithm 1). */
tsr_gf128 tsr_gf128_mul(tsr_gf128 x, tsr_gf128 y);
/* h^k by square-and-multiply; time depends on k (a public length) only. */
tsr_gf128 tsr_gf128_pow(tsr_gf128 h, uint64_t k);

#ifdef __cplusplus
}
#endif
#endif
