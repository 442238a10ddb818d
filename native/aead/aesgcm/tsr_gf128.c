#include "tsr_gf128.h"

#include "../../util/tsr_util.h"

tsr_gf128 tsr_gf128_load(const uint8_t b[16]) {
  tsr_gf128 x = {tsr_load64_be(b), tsr_load64_be(b + 8)};
  return x;
}

void tsr_gf128_store(uint8_t b[16], tsr_gf128 x) {
  tsr_store64_be(b, x.hi);
  tsr_store64_be(b + 8, x.lo);
}

tsr_gf128 tsr_gf128_xor(tsr_gf128 a, tsr_gf128 b) {
  tsr_gf128 r = {a.hi ^ b.hi, a.lo ^ b.lo};
  return r;
}

tsr_gf128 tsr_gf128_mul(tsr_gf128 x, tsr_gf128 y) {
  /* Bit i of x (i = 0 is the most significant bit of byte 0, the
   * coefficient of x^0) selects whether V = y * x^i is added; V advances by
   * one right shift, folding the bit that falls off with R = 0xE1 || 0^120.
   * Masks instead of branches keep it constant time. */
  uint64_t zh = 0, zl = 0, vh = y.hi, vl = y.lo;
  for (int i = 0; i < 128; i++) {
    uint64_t bit = i < 64 ? (x.hi >> (63 - i)) & 1 : (x.lo >> (127 - i)) & 1;
    uint64_t take = 0 - bit;
    zh ^= vh & take;
    zl ^= vl & take;
    uint64_t carry = 0 - (vl & 1);
    vl = (vl >> 1) | (vh << 63);
    vh = (vh >> 1) ^ (carry & 0xE100000000000000ULL);
  }
  tsr_gf128 z = {zh, zl};
  return z;
}

tsr_gf128 tsr_gf128_pow(tsr_gf128 h, uint64_t k) {
  tsr_gf128 r = {0x8000000000000000ULL, 0}; /* the multiplicative identity, x^0 */
  tsr_gf128 p = h;
  while (k) {
    if (k & 1) r = tsr_gf128_mul(r, p);
    k >>= 1;
    if (k) p = tsr_gf128_mul(p, p);
  }
  return r;
}
