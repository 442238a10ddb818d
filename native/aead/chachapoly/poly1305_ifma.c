/* Constant time: additions, shifts, masks and fixed-pattern 52-bit multiplies only; no branch or index on secret data. */
/*
 * Poly1305 (RFC 8439 section 2.5) with AVX512-IFMA: radix 2^44 (limbs of 44,
 * 44 and 42 bits), vpmadd52luq/vpmadd52huq, eight blocks per step in eight
 * 64-bit lanes, two such sets in flight (sixteen blocks per step), after
 * Goll and Gueron, "Vectorization of Poly1305 Message Authentication Code"
 * (the multi-lane Horner form): lane k accumulates blocks k, k + 16, ...;
 * every step but the last multiplies all lanes by r^16, the last multiplies
 * lane k by r^(16 - k), so that the lane sum equals the sequential
 * h = (h + m) r of RFC 8439 section 2.5.1.
 *
 * Reduction: limb products at 2^132 and beyond fold back times 20
 * (2^130 = 5 mod p, so 2^132 = 20); a 52-bit "high" half lands 8 bits into
 * the next 44-bit limb. Short inputs, partial blocks, padding and the final
 * reduction are the scalar tier's (poly1305_scalar64.c, same state layout).
 */
#include <immintrin.h>
#include <string.h>

#include "../../util/tsr_util.h"
#include "poly1305_state.h"
#include "tsr_chachapoly_kern.h"

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512ifma")))

/* State layout shared with poly1305_scalar64.c (w[0..15]) and this tier's
 * tables: w[16..20] r^16 as r0 r1 r2 20r1 20r2, w[24..103] the last step's
 * per-lane powers (five limb vectors of sixteen lanes: set A, then set B). */
enum { PR16 = 16, PLAST = 24 }; /* above the shared layout (poly1305_state.h) */

typedef unsigned __int128 u128;
#define M44 0xfffffffffffull
#define M42 0x3ffffffffffull

/* out = a * b (mod p) in radix 2^44, partially reduced. */
static void mul44(uint64_t out[3], const uint64_t a[3], const uint64_t b[3]) {
  const uint64_t s1 = b[1] * 20, s2 = b[2] * 20;
  u128 d0 = (u128)a[0] * b[0] + (u128)a[1] * s2 + (u128)a[2] * s1;
  u128 d1 = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * s2;
  u128 d2 = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0];
  d1 += (uint64_t)(d0 >> 44);
  d2 += (uint64_t)(d1 >> 44);
  uint64_t h0 = (uint64_t)d0 & M44, h1 = (uint64_t)d1 & M44, h2 = (uint64_t)d2 & M42;
  uint64_t c = (uint64_t)(d2 >> 42);
  h0 += c * 5;
  h1 += h0 >> 44;
  h0 &= M44;
  out[0] = h0;
  out[1] = h1;
  out[2] = h2;
}

/* r^1..r^16 into the tables (once per key, on the first long update). */
static void setup(uint64_t *w) {
  uint64_t p[17][3];
  const uint64_t r0 = w[PR], r1 = w[PR + 1];
  p[1][0] = r0 & M44;
  p[1][1] = ((r0 >> 44) | (r1 << 20)) & M44;
  p[1][2] = r1 >> 24;
  mul44(p[2], p[1], p[1]);
  mul44(p[3], p[2], p[1]);
  mul44(p[4], p[2], p[2]);
  for (int k = 5; k <= 8; k++) mul44(p[k], p[4], p[k - 4]);
  for (int k = 9; k <= 16; k++) mul44(p[k], p[8], p[k - 8]);
  w[PR16 + 0] = p[16][0];
  w[PR16 + 1] = p[16][1];
  w[PR16 + 2] = p[16][2];
  w[PR16 + 3] = p[16][1] * 20;
  w[PR16 + 4] = p[16][2] * 20;
  /* Lane j of a message vector holds block ORDER[j] of its eight (the in-lane
   * 64-bit unpacks in absorb()); set A is blocks 0-7 of a 16-block chunk and
   * needs r^(16 - b) in the last step, set B blocks 8-15, r^(8 - b). */
  static const int order[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  for (int set = 0; set < 2; set++)
    for (int j = 0; j < 8; j++) {
      const uint64_t *q = p[16 - 8 * set - order[j]];
      const int l = PLAST + 8 * set + j;
      w[l + 0 * 16] = q[0];
      w[l + 1 * 16] = q[1];
      w[l + 2 * 16] = q[2];
      w[l + 3 * 16] = q[1] * 20;
      w[l + 4 * 16] = q[2] * 20;
    }
  w[PREADY] = 1;
  tsr_memzero(p, sizeof p);
}

TGT static inline void clear_vregs(void) {
  __asm__ volatile(
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
      "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
      "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
      "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
      "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
      "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
      "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
      "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31\n\t"
      "vzeroall" ::
          : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
            "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
            "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory");
}

/* H = H * R (mod p) lane-wise: nine lo/hi IFMA pairs (the products with H1,
 * whose carry-in is ready last, accumulated last), the high halves moved 8
 * bits up into the next limb (the top one folded back times 20), then one
 * parallel carry step. Limbs in: < 2^46; out: < 2^44 + 2^15 (2^42 + 2^13). */
#define MULR(H0, H1, H2, R0, R1, R2, S1, S2)                                                          \
  do {                                                                                                \
    __m512i l0 = _mm512_madd52lo_epu64(z, H2, S1), l1 = _mm512_madd52lo_epu64(z, H2, S2);             \
    __m512i l2 = _mm512_madd52lo_epu64(z, H2, R0), g0 = _mm512_madd52hi_epu64(z, H2, S1);             \
    __m512i g1 = _mm512_madd52hi_epu64(z, H2, S2), g2 = _mm512_madd52hi_epu64(z, H2, R0);             \
    l0 = _mm512_madd52lo_epu64(l0, H0, R0);                                                           \
    l1 = _mm512_madd52lo_epu64(l1, H0, R1);                                                           \
    l2 = _mm512_madd52lo_epu64(l2, H0, R2);                                                           \
    g0 = _mm512_madd52hi_epu64(g0, H0, R0);                                                           \
    g1 = _mm512_madd52hi_epu64(g1, H0, R1);                                                           \
    g2 = _mm512_madd52hi_epu64(g2, H0, R2);                                                           \
    l0 = _mm512_madd52lo_epu64(l0, H1, S2);                                                           \
    l1 = _mm512_madd52lo_epu64(l1, H1, R0);                                                           \
    l2 = _mm512_madd52lo_epu64(l2, H1, R1);                                                           \
    g0 = _mm512_madd52hi_epu64(g0, H1, S2);                                                           \
    g1 = _mm512_madd52hi_epu64(g1, H1, R0);                                                           \
    g2 = _mm512_madd52hi_epu64(g2, H1, R1);                                                           \
    l1 = _mm512_add_epi64(l1, _mm512_slli_epi64(g0, 8));                                              \
    l2 = _mm512_add_epi64(l2, _mm512_slli_epi64(g1, 8));                                              \
    g2 = _mm512_slli_epi64(g2, 10); /* times 2^8 * 4, then * 5: the 2^132 = 20 fold */                \
    l0 = _mm512_add_epi64(l0, _mm512_add_epi64(g2, _mm512_slli_epi64(g2, 2)));                        \
    __m512i c0 = _mm512_srli_epi64(l0, 44), c1 = _mm512_srli_epi64(l1, 44);                           \
    __m512i c2 = _mm512_srli_epi64(l2, 42);                                                           \
    H0 = _mm512_add_epi64(_mm512_and_si512(l0, m44), _mm512_add_epi64(c2, _mm512_slli_epi64(c2, 2))); \
    H1 = _mm512_add_epi64(_mm512_and_si512(l1, m44), c0);                                             \
    H2 = _mm512_add_epi64(_mm512_and_si512(l2, m42), c1);                                             \
  } while (0)

/* H += the 44-bit limbs of eight blocks (lane j: block ORDER[j], see setup). */
#define ABSORB(H0, H1, H2, p)                                                                              \
  do {                                                                                                     \
    __m512i a = _mm512_loadu_si512(p), b = _mm512_loadu_si512((p) + 64);                                   \
    __m512i lo = _mm512_unpacklo_epi64(a, b), hi = _mm512_unpackhi_epi64(a, b);                            \
    H0 = _mm512_add_epi64(H0, _mm512_and_si512(lo, m44));                                                  \
    H1 = _mm512_add_epi64(                                                                                 \
        H1, _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(lo, 44), _mm512_slli_epi64(hi, 20)), m44)); \
    H2 = _mm512_add_epi64(H2, _mm512_or_si512(_mm512_srli_epi64(hi, 24), hib));                            \
  } while (0)

#define LOADLAST(set)                                                                                       \
  L0 = _mm512_loadu_si512(w + PLAST + 8 * (set)), L1 = _mm512_loadu_si512(w + PLAST + 16 + 8 * (set));      \
  L2 = _mm512_loadu_si512(w + PLAST + 32 + 8 * (set)), T1 = _mm512_loadu_si512(w + PLAST + 48 + 8 * (set)); \
  T2 = _mm512_loadu_si512(w + PLAST + 64 + 8 * (set))

/* Absorbs ngroups >= 1 groups of eight blocks (128 bytes each) into
 * w[PH..PH+2]: two sets of eight lanes (A and B), sixteen blocks per step,
 * so that two independent multiply chains are in flight. With an odd count
 * the first step has an empty set A (zero, contributing nothing) and h
 * enters set B instead, in front of the first block. */
TGT __attribute__((noinline)) static void blocks(uint64_t *w, const uint8_t *in, size_t ngroups) {
  const __m512i z = _mm512_setzero_si512(), m44 = _mm512_set1_epi64((long long)M44);
  const __m512i m42 = _mm512_set1_epi64((long long)M42), hib = _mm512_set1_epi64(1ll << 40);
  const uint64_t h0 = w[PH], h1 = w[PH + 1], h2 = w[PH + 2];
  const __mmask8 ina = ngroups & 1 ? 0 : 1, inb = ngroups & 1 ? 1 : 0;
  const long long e0 = (long long)(h0 & M44), e1 = (long long)(((h0 >> 44) | (h1 << 20)) & M44);
  const long long e2 = (long long)((h1 >> 24) | (h2 << 40));
  __m512i A0 = _mm512_maskz_set1_epi64(ina, e0), A1 = _mm512_maskz_set1_epi64(ina, e1);
  __m512i A2 = _mm512_maskz_set1_epi64(ina, e2), B0 = _mm512_maskz_set1_epi64(inb, e0);
  __m512i B1 = _mm512_maskz_set1_epi64(inb, e1), B2 = _mm512_maskz_set1_epi64(inb, e2);
  const __m512i R0 = _mm512_set1_epi64((long long)w[PR16]), R1 = _mm512_set1_epi64((long long)w[PR16 + 1]);
  const __m512i R2 = _mm512_set1_epi64((long long)w[PR16 + 2]), S1 = _mm512_set1_epi64((long long)w[PR16 + 3]);
  const __m512i S2 = _mm512_set1_epi64((long long)w[PR16 + 4]);
  __m512i L0, L1, L2, T1, T2;
  size_t steps = (ngroups + 1) / 2;
  if (ngroups & 1) {
    ABSORB(B0, B1, B2, in);
    in += 128;
  } else {
    ABSORB(A0, A1, A2, in);
    ABSORB(B0, B1, B2, in + 128);
    in += 256;
  }
  for (; steps > 1; steps--, in += 256) {
    MULR(A0, A1, A2, R0, R1, R2, S1, S2);
    MULR(B0, B1, B2, R0, R1, R2, S1, S2);
    ABSORB(A0, A1, A2, in);
    ABSORB(B0, B1, B2, in + 128);
  }
  LOADLAST(0);
  MULR(A0, A1, A2, L0, L1, L2, T1, T2);
  LOADLAST(1);
  MULR(B0, B1, B2, L0, L1, L2, T1, T2);
  /* Sum the lanes (limbs < 2^45: exact), carry, back to radix 2^64 (h < 2^131,
   * the scalar tier's bound). */
  uint64_t d0 = (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(A0, B0));
  uint64_t d1 = (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(A1, B1));
  uint64_t d2 = (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(A2, B2));
  d1 += d0 >> 44;
  d0 &= M44;
  d2 += d1 >> 44;
  d1 &= M44;
  d0 += (d2 >> 42) * 5;
  d2 &= M42;
  d1 += d0 >> 44;
  d0 &= M44;
  u128 t = (u128)d0 + ((u128)d1 << 44);
  w[PH] = (uint64_t)t;
  t = (t >> 64) + ((u128)d2 << 24);
  w[PH + 1] = (uint64_t)t;
  w[PH + 2] = (uint64_t)(t >> 64);
  clear_vregs();
}

static void update(tsr_poly1305_kstate *s, const uint8_t *in, size_t len) {
  tsr_poly1305_vector_update(s, in, len, 128, setup, blocks);
}

static void init(tsr_poly1305_kstate *s, const uint8_t key[32]) {
  tsr_poly1305_scalar64.init(s, key);
}
static void pad16(tsr_poly1305_kstate *s) {
  tsr_poly1305_scalar64.pad16(s);
}
static void final(tsr_poly1305_kstate *s, uint8_t tag[16]) {
  tsr_poly1305_scalar64.final(s, tag);
}

const tsr_poly1305_impl tsr_poly1305_ifma = {"ifma", init, update, pad16, final};
