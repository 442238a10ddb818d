/*
 * GHASH (NIST SP 800-38D section 6.4) in constant time.
 *
 * Field elements are kept in the "natural" order: a block X is the
 * polynomial sum x_i x^i where x_i is bit 7 - (i mod 8) of byte i / 8
 * (section 6.3's bit reflection), and (lo, hi) hold x^0..x^63, x^64..x^127
 * at bit i. Loaded little-endian, a block half w becomes that by reversing
 * the bits in each byte (brev8), and its full 64-bit reversal is bswap(w).
 *
 * Carry-less multiplication uses ordinary integer multiplication on
 * "operands with holes": keeping only every fourth bit (masks 0x1111..,
 * 0x2222.., ...), each partial-product column of a 64-bit product sums at
 * most 16 bits, so its count fits in the 4-bit window before the next
 * column of the same residue class and only the top window can reach 16,
 * carrying out past bit 63. Sixteen multiplies give the low 64 bits of a
 * 64x64 carry-less product; the high 64 come from the same on bit-reversed
 * operands (rev(a) * rev(b) = rev(a * b) over 127 bits). A 128x128 product
 * is three 64x64 ones (Karatsuba), reduced modulo x^128 + x^7 + x^2 + x + 1.
 * No table is indexed by H or by data, and no branch depends on them.
 * (Integer multiplication is constant time on the 64-bit CPUs the addon and
 * browsers run on; it is not on some small embedded cores.)
 *
 * Four blocks are absorbed per reduction (Y = (Y + X1) H^4 + X2 H^3 +
 * X3 H^2 + X4 H), with the operand masks of H..H^4 precomputed, and the
 * products of the four blocks summed before masking and before the single
 * reversal per half: both are linear.
 */
#include "tsr_ghash.h"

#include <string.h>

#include "../../../util/tsr_util.h"

#define M0 0x1111111111111111ull
#define M1 0x2222222222222222ull
#define M2 0x4444444444444444ull
#define M3 0x8888888888888888ull

/* Bit reversal inside each byte. */
static inline uint64_t brev8(uint64_t x) {
  x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
  x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
  return ((x >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((x & 0x0F0F0F0F0F0F0F0Full) << 4);
}
static inline uint64_t bswap64(uint64_t x) {
#if defined(__wasm__)
  /* wasm has no byte swap instruction; a rotation and two swap steps. */
  x = (x >> 32) | (x << 32);
  x = ((x >> 16) & 0x0000FFFF0000FFFFull) | ((x & 0x0000FFFF0000FFFFull) << 16);
  return ((x >> 8) & 0x00FF00FF00FF00FFull) | ((x & 0x00FF00FF00FF00FFull) << 8);
#else
  return __builtin_bswap64(x);
#endif
}
static inline uint64_t rev64(uint64_t x) {
  return bswap64(brev8(x));
}

/*
 * load_x: the six multiplier operands of a block (lo, hi, lo ^ hi and the
 * bit reversals of those), with the running Y added first when y != NULL.
 * rev64_2: two 64-bit bit reversals at once.
 */
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
/* simd128: the byte swap is one shuffle and the in-byte bit reversal two
 * 16-entry nibble lookups (i8x16.swizzle, a register operation: no memory
 * access depends on the data). Y is added in byte form, before both. */
static inline v128_t brev8_v(v128_t v) {
  const v128_t rev4 =
      wasm_i8x16_const(0x00, 0x08, 0x04, 0x0C, 0x02, 0x0A, 0x06, 0x0E, 0x01, 0x09, 0x05, 0x0D, 0x03, 0x0B, 0x07, 0x0F);
  const v128_t rev4hi =
      wasm_u8x16_const(0x00, 0x80, 0x40, 0xC0, 0x20, 0xA0, 0x60, 0xE0, 0x10, 0x90, 0x50, 0xD0, 0x30, 0xB0, 0x70, 0xF0);
  return wasm_v128_or(wasm_i8x16_swizzle(rev4hi, wasm_v128_and(v, wasm_i8x16_splat(0x0F))),
                      wasm_i8x16_swizzle(rev4, wasm_u8x16_shr(v, 4)));
}
#define BSWAP64X2(v) wasm_i8x16_shuffle((v), (v), 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8)
static inline void load_x(uint64_t x[6], const uint8_t *in, const uint64_t *y) {
  v128_t v = wasm_v128_load(in);
  if (y) v = wasm_v128_xor(v, brev8_v(wasm_i64x2_make((int64_t)y[0], (int64_t)y[1])));
  const v128_t n = brev8_v(v), r = BSWAP64X2(v);
  x[0] = (uint64_t)wasm_i64x2_extract_lane(n, 0);
  x[1] = (uint64_t)wasm_i64x2_extract_lane(n, 1);
  x[2] = x[0] ^ x[1];
  x[3] = (uint64_t)wasm_i64x2_extract_lane(r, 0);
  x[4] = (uint64_t)wasm_i64x2_extract_lane(r, 1);
  x[5] = x[3] ^ x[4];
}
static inline void rev64_2(uint64_t *a, uint64_t *b) {
  const v128_t v = BSWAP64X2(brev8_v(wasm_i64x2_make((int64_t)*a, (int64_t)*b)));
  *a = (uint64_t)wasm_i64x2_extract_lane(v, 0);
  *b = (uint64_t)wasm_i64x2_extract_lane(v, 1);
}
#else
static inline void load_x(uint64_t x[6], const uint8_t *in, const uint64_t *y) {
  uint64_t w0 = tsr_load64_le(in), w1 = tsr_load64_le(in + 8);
  if (y) { /* Y in byte form: brev8 is an involution */
    w0 ^= brev8(y[0]);
    w1 ^= brev8(y[1]);
  }
  x[0] = brev8(w0);
  x[1] = brev8(w1);
  x[3] = bswap64(w0);
  x[4] = bswap64(w1);
  x[2] = x[0] ^ x[1];
  x[5] = x[3] ^ x[4];
}
static inline void rev64_2(uint64_t *a, uint64_t *b) {
  *a = rev64(*a);
  *b = rev64(*b);
}
#endif

/* c[j] accumulates the integer products whose nonzero bits lie in residue
 * class j mod 4; y holds the other operand already split by class. */
static inline __attribute__((always_inline)) void bmul_acc(uint64_t c[4], uint64_t a, const uint64_t y[4]) {
  const uint64_t x0 = a & M0, x1 = a & M1, x2 = a & M2, x3 = a & M3;
  c[0] ^= (x0 * y[0]) ^ (x1 * y[3]) ^ (x2 * y[2]) ^ (x3 * y[1]);
  c[1] ^= (x0 * y[1]) ^ (x1 * y[0]) ^ (x2 * y[3]) ^ (x3 * y[2]);
  c[2] ^= (x0 * y[2]) ^ (x1 * y[1]) ^ (x2 * y[0]) ^ (x3 * y[3]);
  c[3] ^= (x0 * y[3]) ^ (x1 * y[2]) ^ (x2 * y[1]) ^ (x3 * y[0]);
}
static inline uint64_t bmul_fin(const uint64_t c[4]) {
  return (c[0] & M0) | (c[1] & M1) | (c[2] & M2) | (c[3] & M3);
}
static inline void split(uint64_t y[4], uint64_t v) {
  y[0] = v & M0;
  y[1] = v & M1;
  y[2] = v & M2;
  y[3] = v & M3;
}

/*
 * z[0..2] = low 64 bits of the products lo*lo', hi*hi', mid*mid' (mid =
 * lo ^ hi), z[3..5] the same for the bit-reversed operands. Karatsuba
 * recombination to 255 bits, then reduction: x^128 = x^7 + x^2 + x + 1, so
 * the high 128 bits are folded in times that, and the few bits the shift by
 * 7 pushes past x^127 are folded once more.
 */
static void combine_reduce(uint64_t y[2], const uint64_t z[6]) {
  uint64_t r3 = z[3], r4 = z[4], r5 = z[5], r6 = 0;
  rev64_2(&r3, &r4);
  rev64_2(&r5, &r6);
  const uint64_t l0 = z[0], l1 = r3 >> 1;
  const uint64_t h0 = z[1], h1 = r4 >> 1;
  const uint64_t m0 = z[2], m1 = r5 >> 1;
  const uint64_t p0 = l0, p1 = l1 ^ l0 ^ h0 ^ m0, p2 = h0 ^ l1 ^ h1 ^ m1, p3 = h1;
  uint64_t lo = p0 ^ p2 ^ (p2 << 1) ^ (p2 << 2) ^ (p2 << 7);
  const uint64_t hi = p1 ^ p3 ^ ((p3 << 1) | (p2 >> 63)) ^ ((p3 << 2) | (p2 >> 62)) ^ ((p3 << 7) | (p2 >> 57));
  const uint64_t o = (p3 >> 63) ^ (p3 >> 62) ^ (p3 >> 57);
  lo ^= o ^ (o << 1) ^ (o << 2) ^ (o << 7);
  y[0] = lo;
  y[1] = hi;
}

/* The six operands of a (lo, hi) pair: halves, their XOR, and reversals. */
static void operands(uint64_t v[6], const uint64_t a[2]) {
  v[0] = a[0];
  v[1] = a[1];
  v[2] = a[0] ^ a[1];
  v[3] = rev64(a[0]);
  v[4] = rev64(a[1]);
  v[5] = v[3] ^ v[4];
}

/* r = a * b, for the key precomputation (one product, no aggregation). */
static void gf_mul(uint64_t r[2], const uint64_t a[2], const uint64_t b[2]) {
  uint64_t av[6], bv[6], y[4], z[6];
  operands(av, a);
  operands(bv, b);
  for (int t = 0; t < 6; t++) {
    uint64_t c[4] = {0, 0, 0, 0};
    split(y, bv[t]);
    bmul_acc(c, av[t], y);
    z[t] = bmul_fin(c);
  }
  combine_reduce(r, z);
  tsr_memzero(av, sizeof av);
  tsr_memzero(bv, sizeof bv);
  tsr_memzero(y, sizeof y);
  tsr_memzero(z, sizeof z);
}

/* Key layout: for power p (H^(p+1)), operand t (lo, hi, mid, and the three
 * reversed), its four class-masked parts at h[24 p + 4 t .. + 3]. */
void tsr_ghash_init_key(tsr_ghash_key *k, const uint8_t h[16]) {
  uint64_t hp[2], h1[2], v[6];
  h1[0] = brev8(tsr_load64_le(h));
  h1[1] = brev8(tsr_load64_le(h + 8));
  hp[0] = h1[0];
  hp[1] = h1[1];
  for (int p = 0; p < 4; p++) {
    if (p) gf_mul(hp, hp, h1);
    operands(v, hp);
    for (int t = 0; t < 6; t++) split(k->h + 24 * p + 4 * t, v[t]);
  }
  tsr_memzero(hp, sizeof hp);
  tsr_memzero(h1, sizeof h1);
  tsr_memzero(v, sizeof v);
}

/* Block j of a group of g is multiplied by H^(g-j): its operands meet the
 * key parts of power index g - 1 - j. */
#define BMUL_GROUP(z, t, xs, k, g)                                                                       \
  do {                                                                                                   \
    uint64_t c_[4] = {0, 0, 0, 0};                                                                       \
    for (size_t j_ = 0; j_ < (g); j_++) bmul_acc(c_, xs[j_][t], (k)->h + 24 * ((g) - 1 - j_) + 4 * (t)); \
    (z)[t] = bmul_fin(c_);                                                                               \
  } while (0)

/* Absorbs n whole blocks, four per reduction (the last group may be 1..3,
 * depending on n only). The block operands go through s->x, scratch that
 * lives (and is wiped) with the state rather than on the stack. */
static void ghash_blocks(tsr_ghash_state *s, const tsr_ghash_key *k, const uint8_t *in, size_t n) {
  uint64_t *y = s->y, (*xs)[6] = s->x;
  while (n) {
    const size_t g = n < 4 ? n : 4;
    uint64_t z[6];
    for (size_t j = 0; j < g; j++, in += 16) load_x(xs[j], in, j ? NULL : y);
    if (g == 4) { /* the bulk: constant trip counts, fully unrolled */
      BMUL_GROUP(z, 0, xs, k, 4);
      BMUL_GROUP(z, 1, xs, k, 4);
      BMUL_GROUP(z, 2, xs, k, 4);
      BMUL_GROUP(z, 3, xs, k, 4);
      BMUL_GROUP(z, 4, xs, k, 4);
      BMUL_GROUP(z, 5, xs, k, 4);
    } else { /* a short tail group: kept as a loop (code size) */
#if defined(__clang__)
#pragma clang loop unroll(disable)
#endif
      for (int t = 0; t < 6; t++) BMUL_GROUP(z, t, xs, k, g);
    }
    combine_reduce(y, z);
    n -= g;
  }
}

void tsr_ghash_start(tsr_ghash_state *s) {
  __builtin_memset(s, 0, sizeof *s);
}

void tsr_ghash_update(tsr_ghash_state *s, const tsr_ghash_key *k, const uint8_t *in, size_t len) {
  if (!len) return;
  if (s->fill) {
    size_t m = 16 - s->fill < len ? 16 - s->fill : len;
    __builtin_memcpy(s->buf + s->fill, in, m);
    s->fill += m;
    in += m;
    len -= m;
    if (s->fill < 16) return;
    ghash_blocks(s, k, s->buf, 1);
    s->fill = 0;
  }
  if (len >= 16) {
    ghash_blocks(s, k, in, len / 16);
    in += len & ~(size_t)15;
    len &= 15;
  }
  if (len) {
    __builtin_memcpy(s->buf, in, len);
    s->fill = len;
  }
}

void tsr_ghash_pad(tsr_ghash_state *s, const tsr_ghash_key *k) {
  if (!s->fill) return;
  __builtin_memset(s->buf + s->fill, 0, 16 - s->fill);
  ghash_blocks(s, k, s->buf, 1);
  s->fill = 0;
}

void tsr_ghash_final(tsr_ghash_state *s, uint8_t out[16]) {
  tsr_store64_le(out, brev8(s->y[0]));
  tsr_store64_le(out + 8, brev8(s->y[1]));
  tsr_memzero(s, sizeof *s);
}
