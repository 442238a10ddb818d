/* Constant time: additions, shifts, masks and fixed-pattern 32x32->64 multiplies only; no branch or index on secret data. */
/*
 * Poly1305 (RFC 8439 section 2.5) on AVX2: radix 2^26 (five limbs), four
 * blocks per step in four 64-bit lanes with vpmuludq, after Goll and Gueron,
 * "Vectorization of Poly1305 Message Authentication Code" (the multi-lane
 * Horner form): lane k accumulates blocks k, k + 4, ...; every step but the
 * last multiplies all lanes by r^4, the last multiplies lane k by r^(4 - k),
 * so that the lane sum equals the sequential h = (h + m) r of section 2.5.1.
 * Products that reach 2^130 fold back times 5 (2^130 = 5 mod p). Short
 * inputs, partial blocks, padding and the final reduction are the scalar
 * tier's (poly1305_scalar64.c, same state layout).
 */
#include <immintrin.h>
#include <string.h>

#include "../../util/tsr_util.h"
#include "poly1305_state.h"
#include "tsr_chachapoly_kern.h"

#define TGT __attribute__((target("avx2")))

/* State layout shared with poly1305_scalar64.c (w[0..15]) and this tier's
 * tables: w[16..25] r^4 as r0..r4, 5r0..5r4; w[28..67] the last step's
 * per-lane powers (ten vectors of four lanes, same order). */
enum { PR4 = 16, PLAST = 28 }; /* above the shared layout (poly1305_state.h) */
#define M26 0x3ffffffull

typedef unsigned __int128 u128;

/* out = a * b (mod p), radix 2^26, partially reduced (limbs < 2^26 + 2^10). */
static void mul26(uint64_t out[5], const uint64_t a[5], const uint64_t b[5]) {
  uint64_t d[5], s[5];
  for (int i = 0; i < 5; i++) s[i] = b[i] * 5;
  for (int j = 0; j < 5; j++) {
    d[j] = 0;
    for (int i = 0; i < 5; i++) d[j] += a[i] * (i <= j ? b[j - i] : s[j - i + 5]);
  }
  for (int j = 0; j < 4; j++) {
    d[j + 1] += d[j] >> 26;
    d[j] &= M26;
  }
  d[0] += (d[4] >> 26) * 5;
  d[4] &= M26;
  d[1] += d[0] >> 26;
  d[0] &= M26;
  memcpy(out, d, sizeof d);
  tsr_memzero(d, sizeof d);
  tsr_memzero(s, sizeof s);
}

/* r^1..r^4 into the tables (once per key, on the first long update). */
static void setup(uint64_t *w) {
  uint64_t p[5][5];
  const uint64_t r0 = w[PR], r1 = w[PR + 1];
  p[1][0] = r0 & M26;
  p[1][1] = (r0 >> 26) & M26;
  p[1][2] = ((r0 >> 52) | (r1 << 12)) & M26;
  p[1][3] = (r1 >> 14) & M26;
  p[1][4] = r1 >> 40;
  mul26(p[2], p[1], p[1]);
  mul26(p[3], p[2], p[1]);
  mul26(p[4], p[2], p[2]);
  for (int i = 0; i < 5; i++) {
    w[PR4 + i] = p[4][i];
    w[PR4 + 5 + i] = p[4][i] * 5;
  }
  /* Lane j holds block ORDER[j] of the four (the in-lane unpacks below). */
  static const int order[4] = {0, 2, 1, 3};
  for (int j = 0; j < 4; j++)
    for (int i = 0; i < 5; i++) {
      w[PLAST + 4 * i + j] = p[4 - order[j]][i];
      w[PLAST + 20 + 4 * i + j] = p[4 - order[j]][i] * 5;
    }
  w[PREADY] = 1;
  tsr_memzero(p, sizeof p);
}

#define MUL(a, b) _mm256_mul_epu32(a, b)
#define ADD(a, b) _mm256_add_epi64(a, b)

/* H = H * (R, S) (mod p) lane-wise, then the carry chain of the 4-way
 * Horner (two interleaved chains); limbs out < 2^26 + 2^10. */
TGT static inline void mulr(__m256i h[5], const __m256i r[5], const __m256i s[5], __m256i m26) {
  __m256i d0 = ADD(ADD(ADD(MUL(h[0], r[0]), MUL(h[1], s[4])), ADD(MUL(h[2], s[3]), MUL(h[3], s[2]))), MUL(h[4], s[1]));
  __m256i d1 = ADD(ADD(ADD(MUL(h[0], r[1]), MUL(h[1], r[0])), ADD(MUL(h[2], s[4]), MUL(h[3], s[3]))), MUL(h[4], s[2]));
  __m256i d2 = ADD(ADD(ADD(MUL(h[0], r[2]), MUL(h[1], r[1])), ADD(MUL(h[2], r[0]), MUL(h[3], s[4]))), MUL(h[4], s[3]));
  __m256i d3 = ADD(ADD(ADD(MUL(h[0], r[3]), MUL(h[1], r[2])), ADD(MUL(h[2], r[1]), MUL(h[3], r[0]))), MUL(h[4], s[4]));
  __m256i d4 = ADD(ADD(ADD(MUL(h[0], r[4]), MUL(h[1], r[3])), ADD(MUL(h[2], r[2]), MUL(h[3], r[1]))), MUL(h[4], r[0]));
  __m256i c;
  c = _mm256_srli_epi64(d3, 26);
  d3 = _mm256_and_si256(d3, m26);
  d4 = ADD(d4, c);
  c = _mm256_srli_epi64(d0, 26);
  d0 = _mm256_and_si256(d0, m26);
  d1 = ADD(d1, c);
  c = _mm256_srli_epi64(d4, 26);
  d4 = _mm256_and_si256(d4, m26);
  d0 = ADD(d0, ADD(c, _mm256_slli_epi64(c, 2)));
  c = _mm256_srli_epi64(d1, 26);
  d1 = _mm256_and_si256(d1, m26);
  d2 = ADD(d2, c);
  c = _mm256_srli_epi64(d0, 26);
  d0 = _mm256_and_si256(d0, m26);
  d1 = ADD(d1, c);
  c = _mm256_srli_epi64(d2, 26);
  d2 = _mm256_and_si256(d2, m26);
  d3 = ADD(d3, c);
  c = _mm256_srli_epi64(d3, 26);
  d3 = _mm256_and_si256(d3, m26);
  d4 = ADD(d4, c);
  h[0] = d0;
  h[1] = d1;
  h[2] = d2;
  h[3] = d3;
  h[4] = d4;
}

/* Absorbs ngroups >= 1 groups of four blocks (64 bytes each) into w[PH..]. */
TGT __attribute__((noinline)) static void blocks(uint64_t *w, const uint8_t *in, size_t ngroups) {
  const __m256i m26 = _mm256_set1_epi64x((long long)M26), hib = _mm256_set1_epi64x(1ll << 24);
  const uint64_t h0 = w[PH], h1 = w[PH + 1], h2 = w[PH + 2];
  __m256i h[5], r[5], s[5];
  /* h from radix 2^64 into lane 0, radix 2^26 */
  h[0] = _mm256_setr_epi64x((long long)(h0 & M26), 0, 0, 0);
  h[1] = _mm256_setr_epi64x((long long)((h0 >> 26) & M26), 0, 0, 0);
  h[2] = _mm256_setr_epi64x((long long)(((h0 >> 52) | (h1 << 12)) & M26), 0, 0, 0);
  h[3] = _mm256_setr_epi64x((long long)((h1 >> 14) & M26), 0, 0, 0);
  h[4] = _mm256_setr_epi64x((long long)((h1 >> 40) | (h2 << 24)), 0, 0, 0);
  for (int i = 0; i < 5; i++) {
    r[i] = _mm256_set1_epi64x((long long)w[PR4 + i]);
    s[i] = _mm256_set1_epi64x((long long)w[PR4 + 5 + i]);
  }
  for (size_t g = 0; g < ngroups; g++, in += 64) {
    /* lane j: block ORDER[j] = 0 2 1 3 */
    __m256i a = _mm256_loadu_si256((const __m256i *)in), b = _mm256_loadu_si256((const __m256i *)(in + 32));
    __m256i lo = _mm256_unpacklo_epi64(a, b), hi = _mm256_unpackhi_epi64(a, b);
    h[0] = ADD(h[0], _mm256_and_si256(lo, m26));
    h[1] = ADD(h[1], _mm256_and_si256(_mm256_srli_epi64(lo, 26), m26));
    h[2] = ADD(h[2], _mm256_and_si256(_mm256_or_si256(_mm256_srli_epi64(lo, 52), _mm256_slli_epi64(hi, 12)), m26));
    h[3] = ADD(h[3], _mm256_and_si256(_mm256_srli_epi64(hi, 14), m26));
    h[4] = ADD(h[4], _mm256_or_si256(_mm256_srli_epi64(hi, 40), hib));
    if (g + 1 == ngroups) {
      for (int i = 0; i < 5; i++) {
        r[i] = _mm256_loadu_si256((const __m256i *)(w + PLAST + 4 * i));
        s[i] = _mm256_loadu_si256((const __m256i *)(w + PLAST + 20 + 4 * i));
      }
    }
    mulr(h, r, s, m26);
  }
  /* Sum the lanes (limbs < 2^27: exact), carry, back to radix 2^64. */
  uint64_t d[5];
  for (int i = 0; i < 5; i++) {
    __m128i t = _mm_add_epi64(_mm256_castsi256_si128(h[i]), _mm256_extracti128_si256(h[i], 1));
    d[i] = (uint64_t)_mm_cvtsi128_si64(t) + (uint64_t)_mm_extract_epi64(t, 1);
  }
  for (int j = 0; j < 4; j++) {
    d[j + 1] += d[j] >> 26;
    d[j] &= M26;
  }
  d[0] += (d[4] >> 26) * 5;
  d[4] &= M26;
  d[1] += d[0] >> 26;
  d[0] &= M26;
  u128 t = (u128)d[0] + ((u128)d[1] << 26) + ((u128)d[2] << 52);
  w[PH] = (uint64_t)t;
  t = (t >> 64) + ((u128)d[3] << 14) + ((u128)d[4] << 40);
  w[PH + 1] = (uint64_t)t;
  w[PH + 2] = (uint64_t)(t >> 64);
  tsr_memzero(d, sizeof d);
  _mm256_zeroall();
}

static void update(tsr_poly1305_kstate *s, const uint8_t *in, size_t len) {
  tsr_poly1305_vector_update(s, in, len, 64, setup, blocks);
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

const tsr_poly1305_impl tsr_poly1305_avx2 = {"avx2", init, update, pad16, final};
