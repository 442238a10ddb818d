/*
 * Poly1305 (RFC 8439 section 2.5) with five 26-bit limbs and 32x32->64
 * multiplies. Arithmetic is modulo p = 2^130 - 5, using 2^130 = 5 (mod p) to
 * fold the high products back ("s = 5 * r"). No branch or index depends on
 * the key or the message; the final reduction (h mod p, then + s mod 2^128)
 * selects with a mask.
 *
 * Long inputs use the four-way Horner form
 *   h' = (h + m1) r^4 + m2 r^3 + m3 r^2 + m4 r   (mod p)
 * which computes the same value as four sequential steps of
 * h = (h + m) r (section 2.5.1) with one carry chain per four blocks. The
 * wasm simd128 build runs it as four lanes (one block each) of the same limb
 * arithmetic with 32x32->64 extending vector multiplies.
 */
#include "tsr_poly1305.h"

#include <string.h>

#include "../../../util/tsr_util.h"

#define M26   0x3ffffffu
#define HIBIT (1u << 24) /* the 2^128 bit appended to every full block, in limb 4 */

/* A power of r with its limbs times 5 (for the folded terms). */
typedef struct {
  uint32_t r[5], s[5];
} poly_pow;

static void pow_set(poly_pow *p, const uint32_t r[5]) {
  for (int i = 0; i < 5; i++) p->r[i] = r[i];
  for (int i = 1; i < 5; i++) p->s[i] = r[i] * 5;
  p->s[0] = 0;
}

/* Splits a 16-byte little-endian block into 26-bit limbs, adding hibit. */
static inline void load_block(uint32_t m[5], const uint8_t *b, uint32_t hibit) {
  uint32_t t0 = tsr_load32_le(b), t1 = tsr_load32_le(b + 4), t2 = tsr_load32_le(b + 8), t3 = tsr_load32_le(b + 12);
  m[0] = t0 & M26;
  m[1] = ((t0 >> 26) | (t1 << 6)) & M26;
  m[2] = ((t1 >> 20) | (t2 << 12)) & M26;
  m[3] = ((t2 >> 14) | (t3 << 18)) & M26;
  m[4] = (t3 >> 8) | hibit;
}

/* d += a * p (mod p), accumulated in 64-bit column sums. Each product is below
 * 2^27 * 5 * 2^26 < 2^56, so up to 20 of them fit in a column. */
#define MULACC(d, a, p)                                                                                             \
  do {                                                                                                              \
    d[0] += (uint64_t)a[0] * p.r[0] + (uint64_t)a[1] * p.s[4] + (uint64_t)a[2] * p.s[3] + (uint64_t)a[3] * p.s[2] + \
            (uint64_t)a[4] * p.s[1];                                                                                \
    d[1] += (uint64_t)a[0] * p.r[1] + (uint64_t)a[1] * p.r[0] + (uint64_t)a[2] * p.s[4] + (uint64_t)a[3] * p.s[3] + \
            (uint64_t)a[4] * p.s[2];                                                                                \
    d[2] += (uint64_t)a[0] * p.r[2] + (uint64_t)a[1] * p.r[1] + (uint64_t)a[2] * p.r[0] + (uint64_t)a[3] * p.s[4] + \
            (uint64_t)a[4] * p.s[3];                                                                                \
    d[3] += (uint64_t)a[0] * p.r[3] + (uint64_t)a[1] * p.r[2] + (uint64_t)a[2] * p.r[1] + (uint64_t)a[3] * p.r[0] + \
            (uint64_t)a[4] * p.s[4];                                                                                \
    d[4] += (uint64_t)a[0] * p.r[4] + (uint64_t)a[1] * p.r[3] + (uint64_t)a[2] * p.r[2] + (uint64_t)a[3] * p.r[1] + \
            (uint64_t)a[4] * p.r[0];                                                                                \
  } while (0)

/* Partial carry of the column sums back to limbs: h0, h2..h4 < 2^26, h1 < 2^26 + 2^13. */
static inline void carry(uint32_t h[5], uint64_t d[5]) {
  uint64_t c;
  c = d[0] >> 26;
  h[0] = (uint32_t)d[0] & M26;
  d[1] += c;
  c = d[1] >> 26;
  h[1] = (uint32_t)d[1] & M26;
  d[2] += c;
  c = d[2] >> 26;
  h[2] = (uint32_t)d[2] & M26;
  d[3] += c;
  c = d[3] >> 26;
  h[3] = (uint32_t)d[3] & M26;
  d[4] += c;
  c = d[4] >> 26;
  h[4] = (uint32_t)d[4] & M26;
  c = (uint64_t)h[0] + c * 5; /* 2^130 = 5 (mod p) */
  h[0] = (uint32_t)c & M26;
  h[1] += (uint32_t)(c >> 26);
}

/* out = a * p (mod p), partially reduced. */
static void mulmod(uint32_t out[5], const uint32_t a[5], const poly_pow *pp) {
  uint64_t d[5] = {0, 0, 0, 0, 0};
  const poly_pow p = *pp;
  MULACC(d, a, p);
  carry(out, d);
}

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

/* The same arithmetic on four lanes (wasm simd128): lane k of limb vector j
 * is limb j of an accumulator that takes blocks k, k + 4, k + 8, ... with
 *   A_k = (A_k + m) r^4  for every group but the last, which multiplies
 * lane k by r^(4-k), so that the lane sum is the sequential Horner value
 * (h + m_0) r^N + m_1 r^(N-1) + ... + m_(N-1) r. Products are 32x32->64
 * extending multiplies (u64x2.extmul, lanes 0-1 and 2-3 separately). */
typedef struct {
  v128_t r[5], s[5];
} vpow;

/* h = h * p (mod p) lane-wise, partially reduced like carry(). */
static inline void vmulmod(v128_t h[5], const vpow *p) {
  v128_t lo[5], hi[5];
  for (int j = 0; j < 5; j++) {
    lo[j] = wasm_i64x2_splat(0);
    hi[j] = wasm_i64x2_splat(0);
    for (int i = 0; i < 5; i++) {
      /* d_j = sum over i of h_i * r_(j-i), with r_(j-i+5) * 5 = s when i > j. */
      v128_t f = i <= j ? p->r[j - i] : p->s[j - i + 5];
      lo[j] = wasm_i64x2_add(lo[j], wasm_u64x2_extmul_low_u32x4(h[i], f));
      hi[j] = wasm_i64x2_add(hi[j], wasm_u64x2_extmul_high_u32x4(h[i], f));
    }
  }
  const v128_t m = wasm_i64x2_splat(M26);
  v128_t *d[2] = {lo, hi};
  for (int k = 0; k < 2; k++) {
    v128_t *e = d[k], c;
    for (int j = 0; j < 4; j++) {
      c = wasm_u64x2_shr(e[j], 26);
      e[j] = wasm_v128_and(e[j], m);
      e[j + 1] = wasm_i64x2_add(e[j + 1], c);
    }
    c = wasm_u64x2_shr(e[4], 26);
    e[4] = wasm_v128_and(e[4], m);
    e[0] = wasm_i64x2_add(e[0], wasm_i64x2_add(c, wasm_i64x2_shl(c, 2))); /* + 5c */
    c = wasm_u64x2_shr(e[0], 26);
    e[0] = wasm_v128_and(e[0], m);
    e[1] = wasm_i64x2_add(e[1], c);
  }
  /* Back to 32-bit lanes: the low halves of the 64-bit sums. */
  for (int j = 0; j < 5; j++) h[j] = wasm_i32x4_shuffle(lo[j], hi[j], 0, 2, 4, 6);
}

/* Absorbs ngroups * 4 blocks into h with powers p1..p4 of r. */
static void poly_blocks_simd(uint32_t h[5], const uint8_t *in, size_t ngroups, uint32_t hibit, const poly_pow *p1,
                             const poly_pow *p2, const poly_pow *p3, const poly_pow *p4) {
  vpow r4, last;
  v128_t a[5];
  for (int j = 0; j < 5; j++) {
    r4.r[j] = wasm_i32x4_splat((int32_t)p4->r[j]);
    r4.s[j] = wasm_i32x4_splat((int32_t)p4->s[j]);
    last.r[j] = wasm_u32x4_make(p4->r[j], p3->r[j], p2->r[j], p1->r[j]);
    last.s[j] = wasm_u32x4_make(p4->s[j], p3->s[j], p2->s[j], p1->s[j]);
    a[j] = wasm_u32x4_make(h[j], 0, 0, 0); /* h enters through lane 0 */
  }
  const v128_t m = wasm_i32x4_splat(M26), hb = wasm_i32x4_splat((int32_t)hibit);
  for (size_t g = 0; g < ngroups; g++, in += 64) {
    /* Four blocks, transposed so that vector i holds word i of each block. */
    v128_t b0 = wasm_v128_load(in), b1 = wasm_v128_load(in + 16), b2 = wasm_v128_load(in + 32),
           b3 = wasm_v128_load(in + 48);
    v128_t t0 = wasm_i32x4_shuffle(b0, b1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(b2, b3, 0, 4, 1, 5);
    v128_t t2 = wasm_i32x4_shuffle(b0, b1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(b2, b3, 2, 6, 3, 7);
    v128_t w0 = wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5), w1 = wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7);
    v128_t w2 = wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5), w3 = wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7);
    /* The 26-bit limbs of load_block, four blocks at once. */
    a[0] = wasm_i32x4_add(a[0], wasm_v128_and(w0, m));
    a[1] = wasm_i32x4_add(a[1], wasm_v128_and(wasm_v128_or(wasm_u32x4_shr(w0, 26), wasm_i32x4_shl(w1, 6)), m));
    a[2] = wasm_i32x4_add(a[2], wasm_v128_and(wasm_v128_or(wasm_u32x4_shr(w1, 20), wasm_i32x4_shl(w2, 12)), m));
    a[3] = wasm_i32x4_add(a[3], wasm_v128_and(wasm_v128_or(wasm_u32x4_shr(w2, 14), wasm_i32x4_shl(w3, 18)), m));
    a[4] = wasm_i32x4_add(a[4], wasm_v128_or(wasm_u32x4_shr(w3, 8), hb));
    vmulmod(a, g + 1 < ngroups ? &r4 : &last);
  }
  /* h = the sum of the lanes (each below 2^26 + 2^13, so 64-bit sums are exact). */
  uint64_t d[5];
  for (int j = 0; j < 5; j++) {
    d[j] = (uint64_t)(uint32_t)wasm_i32x4_extract_lane(a[j], 0) + (uint32_t)wasm_i32x4_extract_lane(a[j], 1) +
           (uint32_t)wasm_i32x4_extract_lane(a[j], 2) + (uint32_t)wasm_i32x4_extract_lane(a[j], 3);
  }
  carry(h, d);
}
#endif

/* Absorbs nblocks 16-byte blocks into h (section 2.5.1 step per block). */
static void poly_blocks(tsr_poly1305_state *st, const uint8_t *in, size_t nblocks, uint32_t hibit) {
  uint32_t h[5], m[5];
  uint64_t d[5];
  poly_pow p1;
  memcpy(h, st->h, sizeof h);
  pow_set(&p1, st->r);
  if (nblocks >= 8) {
    poly_pow p2, p3, p4;
    uint32_t t[5];
    mulmod(t, st->r, &p1);
    pow_set(&p2, t);
    mulmod(t, t, &p1);
    pow_set(&p3, t);
    mulmod(t, t, &p1);
    pow_set(&p4, t);
#if defined(__wasm_simd128__)
    size_t ngroups = nblocks / 4;
    poly_blocks_simd(h, in, ngroups, hibit, &p1, &p2, &p3, &p4);
    in += 64 * ngroups;
    nblocks -= 4 * ngroups;
#else
    for (; nblocks >= 4; nblocks -= 4, in += 64) {
      memset(d, 0, sizeof d);
      load_block(m, in, hibit);
      for (int i = 0; i < 5; i++) h[i] += m[i];
      MULACC(d, h, p4);
      load_block(m, in + 16, hibit);
      MULACC(d, m, p3);
      load_block(m, in + 32, hibit);
      MULACC(d, m, p2);
      load_block(m, in + 48, hibit);
      MULACC(d, m, p1);
      carry(h, d);
    }
#endif
  }
  for (; nblocks > 0; nblocks--, in += 16) {
    memset(d, 0, sizeof d);
    load_block(m, in, hibit);
    for (int i = 0; i < 5; i++) h[i] += m[i];
    MULACC(d, h, p1);
    carry(h, d);
  }
  memcpy(st->h, h, sizeof h);
}

void tsr_poly1305_init(tsr_poly1305_state *s, const uint8_t key[32]) {
  /* Section 2.5.1: r = le(key[0..16]) clamped with 0x0ffffffc0ffffffc0ffffffc0fffffff,
   * split into 26-bit limbs (the clamp shows up as the limb masks). */
  uint32_t t0 = tsr_load32_le(key), t1 = tsr_load32_le(key + 4), t2 = tsr_load32_le(key + 8),
           t3 = tsr_load32_le(key + 12);
  t0 &= 0x0fffffffu;
  t1 &= 0x0ffffffcu;
  t2 &= 0x0ffffffcu;
  t3 &= 0x0ffffffcu;
  s->r[0] = t0 & M26;
  s->r[1] = ((t0 >> 26) | (t1 << 6)) & M26;
  s->r[2] = ((t1 >> 20) | (t2 << 12)) & M26;
  s->r[3] = ((t2 >> 14) | (t3 << 18)) & M26;
  s->r[4] = t3 >> 8;
  memset(s->h, 0, sizeof s->h);
  /* s = le(key[16..32]), added at the end. */
  for (int i = 0; i < 4; i++) s->pad[i] = tsr_load32_le(key + 16 + 4 * i);
  s->fill = 0;
}

void tsr_poly1305_update(tsr_poly1305_state *s, const uint8_t *in, size_t len) {
  if (len == 0) return; /* in may be NULL then */
  if (s->fill) {
    size_t take = 16 - s->fill;
    if (take > len) take = len;
    memcpy(s->buf + s->fill, in, take);
    s->fill += take;
    in += take;
    len -= take;
    if (s->fill < 16) return;
    poly_blocks(s, s->buf, 1, HIBIT);
    s->fill = 0;
  }
  if (len >= 16) {
    size_t n = len / 16;
    poly_blocks(s, in, n, HIBIT);
    in += 16 * n;
    len -= 16 * n;
  }
  memcpy(s->buf, in, len);
  s->fill = len;
}

void tsr_poly1305_pad16(tsr_poly1305_state *s) {
  /* RFC 8439 section 2.8: the zero padding is part of the MAC input, so the
   * padded block is a full block (with the 2^128 bit). */
  if (s->fill == 0) return;
  memset(s->buf + s->fill, 0, 16 - s->fill);
  poly_blocks(s, s->buf, 1, HIBIT);
  s->fill = 0;
}

void tsr_poly1305_final(tsr_poly1305_state *s, uint8_t tag[16]) {
  uint32_t h[5], g[5], c, mask;
  if (s->fill) {
    /* Section 2.5.1: a short last block gets a 0x01 byte after its data and
     * zeros up to 16 bytes, with no 2^128 bit. */
    s->buf[s->fill] = 1;
    memset(s->buf + s->fill + 1, 0, 15 - s->fill);
    poly_blocks(s, s->buf, 1, 0);
  }
  memcpy(h, s->h, sizeof h);
  /* Full carry: every limb below 2^26, h < 2^130 + small. */
  c = h[1] >> 26;
  h[1] &= M26;
  h[2] += c;
  c = h[2] >> 26;
  h[2] &= M26;
  h[3] += c;
  c = h[3] >> 26;
  h[3] &= M26;
  h[4] += c;
  c = h[4] >> 26;
  h[4] &= M26;
  h[0] += c * 5;
  c = h[0] >> 26;
  h[0] &= M26;
  h[1] += c;
  c = h[1] >> 26;
  h[1] &= M26;
  h[2] += c;
  /* g = h + 5 - 2^130: non-negative exactly when h >= p. */
  g[0] = h[0] + 5;
  c = g[0] >> 26;
  g[0] &= M26;
  g[1] = h[1] + c;
  c = g[1] >> 26;
  g[1] &= M26;
  g[2] = h[2] + c;
  c = g[2] >> 26;
  g[2] &= M26;
  g[3] = h[3] + c;
  c = g[3] >> 26;
  g[3] &= M26;
  g[4] = h[4] + c - (1u << 26);
  /* mask = all ones if g >= 0 (take g), zero if g < 0 (keep h). */
  mask = (g[4] >> 31) - 1u;
  for (int i = 0; i < 5; i++) h[i] = (h[i] & ~mask) | (g[i] & mask);
  /* h mod 2^128 as four words (by additions, so a limb equal to 2^26 after the
   * carries above still packs exactly), then + s mod 2^128 (section 2.5.1). */
  uint32_t w[4];
  uint64_t f = (uint64_t)h[0] + ((uint64_t)h[1] << 26);
  w[0] = (uint32_t)f;
  f = (f >> 32) + ((uint64_t)h[2] << 20);
  w[1] = (uint32_t)f;
  f = (f >> 32) + ((uint64_t)h[3] << 14);
  w[2] = (uint32_t)f;
  f = (f >> 32) + ((uint64_t)h[4] << 8);
  w[3] = (uint32_t)f;
  f = 0;
  for (int i = 0; i < 4; i++) {
    f = (f >> 32) + w[i] + s->pad[i];
    tsr_store32_le(tag + 4 * i, (uint32_t)f);
  }
  tsr_memzero(w, sizeof w);
  tsr_memzero(h, sizeof h);
  tsr_memzero(g, sizeof g);
  tsr_memzero(s, sizeof *s);
}
