/* Constant time: 32-bit additions, rotations and xors only; no branch or index on secret data. */
/*
 * ChaCha20 (RFC 8439 sections 2.3-2.4) on AVX-512, after Goll and Gueron,
 * "Vectorization of ChaCha Stream Cipher" (ITNG 2014):
 *  - 1024 bytes at a time: 16 blocks in parallel, zmm register i holding
 *    state word i of all 16 blocks (lane j = block counter + j), rotations
 *    with vprold, then a 16x16 transpose of 32-bit words back to blocks;
 *  - tails of 513..1023 bytes: the same with byte-masked loads and stores
 *    (AVX-512BW);
 *  - tails up to 512 bytes: the "row" form, one zmm per state row holding
 *    four blocks (one per 128-bit lane), diagonals by vpshufd, one or two
 *    such sets interleaved (latency bound, so the second set is nearly free).
 * The scalar state array is wiped and the vector registers cleared before
 * returning; the exported function then zeroes the stack region the kernel
 * used (compilers spill broadcast key words in the 16-block path).
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../../util/tsr_util.h"
#include "tsr_chachapoly_kern.h"

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl")))

/* RFC 8439 section 2.1 quarter round on vectors. */
#define QR(a, b, c, d)           \
  do {                           \
    a = _mm512_add_epi32(a, b);  \
    d = _mm512_xor_si512(d, a);  \
    d = _mm512_rol_epi32(d, 16); \
    c = _mm512_add_epi32(c, d);  \
    b = _mm512_xor_si512(b, c);  \
    b = _mm512_rol_epi32(b, 12); \
    a = _mm512_add_epi32(a, b);  \
    d = _mm512_xor_si512(d, a);  \
    d = _mm512_rol_epi32(d, 8);  \
    c = _mm512_add_epi32(c, d);  \
    b = _mm512_xor_si512(b, c);  \
    b = _mm512_rol_epi32(b, 7);  \
  } while (0)

/* Byte mask for the part of a 64-byte block below rem (public lengths). */
TGT static inline __mmask64 block_mask(size_t rem) {
  return rem >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << rem) - 1);
}

/* out = in ^ ks for one 64-byte block at offset 64 * b, up to len bytes. */
TGT static inline void put_block(uint8_t *out, const uint8_t *in, size_t len, unsigned b, __m512i ks, int full) {
  size_t off = 64u * b;
  if (full) {
    _mm512_storeu_si512(out + off, _mm512_xor_si512(ks, _mm512_loadu_si512(in + off)));
  } else if (off < len) {
    __mmask64 m = block_mask(len - off);
    __m512i v = _mm512_maskz_loadu_epi8(m, in + off);
    _mm512_mask_storeu_epi8(out + off, m, _mm512_xor_si512(ks, v));
  }
}

/* Blocks 4L+k (L = 0..3) from group registers u0..u3 (words 0-3, 4-7, 8-11,
 * 12-15 of block 4L+k in 128-bit lane L): a 4x4 transpose of 128-bit lanes. */
#define PUT4(k, u0, u1, u2, u3)                                                             \
  do {                                                                                      \
    __m512i p = _mm512_shuffle_i32x4(u0, u1, 0x44), q = _mm512_shuffle_i32x4(u2, u3, 0x44); \
    __m512i r = _mm512_shuffle_i32x4(u0, u1, 0xee), s = _mm512_shuffle_i32x4(u2, u3, 0xee); \
    put_block(out, in, len, (k), _mm512_shuffle_i32x4(p, q, 0x88), full);                   \
    put_block(out, in, len, (k) + 4, _mm512_shuffle_i32x4(p, q, 0xdd), full);               \
    put_block(out, in, len, (k) + 8, _mm512_shuffle_i32x4(r, s, 0x88), full);               \
    put_block(out, in, len, (k) + 12, _mm512_shuffle_i32x4(r, s, 0xdd), full);              \
  } while (0)

/* Words 4g..4g+3 of every block: 32- then 64-bit unpacks leave words
 * 4g..4g+3 of block 4L+k in lane L of o_k. */
#define GROUP(a, b, c, d, o0, o1, o2, o3)                                       \
  do {                                                                          \
    __m512i t0 = _mm512_unpacklo_epi32(a, b), t1 = _mm512_unpackhi_epi32(a, b); \
    __m512i t2 = _mm512_unpacklo_epi32(c, d), t3 = _mm512_unpackhi_epi32(c, d); \
    o0 = _mm512_unpacklo_epi64(t0, t2);                                         \
    o1 = _mm512_unpackhi_epi64(t0, t2);                                         \
    o2 = _mm512_unpacklo_epi64(t1, t3);                                         \
    o3 = _mm512_unpackhi_epi64(t1, t3);                                         \
  } while (0)

/* 16 blocks with counters st[12] + 0..15: min(len, 1024) bytes of out. */
TGT static inline void blocks16(uint8_t *out, const uint8_t *in, size_t len, const uint32_t st[16], int full) {
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i x0 = _mm512_set1_epi32((int)st[0]), x1 = _mm512_set1_epi32((int)st[1]);
  __m512i x2 = _mm512_set1_epi32((int)st[2]), x3 = _mm512_set1_epi32((int)st[3]);
  __m512i x4 = _mm512_set1_epi32((int)st[4]), x5 = _mm512_set1_epi32((int)st[5]);
  __m512i x6 = _mm512_set1_epi32((int)st[6]), x7 = _mm512_set1_epi32((int)st[7]);
  __m512i x8 = _mm512_set1_epi32((int)st[8]), x9 = _mm512_set1_epi32((int)st[9]);
  __m512i x10 = _mm512_set1_epi32((int)st[10]), x11 = _mm512_set1_epi32((int)st[11]);
  __m512i x12 = _mm512_add_epi32(_mm512_set1_epi32((int)st[12]), lanes);
  __m512i x13 = _mm512_set1_epi32((int)st[13]), x14 = _mm512_set1_epi32((int)st[14]);
  __m512i x15 = _mm512_set1_epi32((int)st[15]);
  for (int i = 0; i < 10; i++) { /* section 2.3: column then diagonal rounds */
    QR(x0, x4, x8, x12);
    QR(x1, x5, x9, x13);
    QR(x2, x6, x10, x14);
    QR(x3, x7, x11, x15);
    QR(x0, x5, x10, x15);
    QR(x1, x6, x11, x12);
    QR(x2, x7, x8, x13);
    QR(x3, x4, x9, x14);
  }
  /* section 2.3.1 feed-forward */
  x0 = _mm512_add_epi32(x0, _mm512_set1_epi32((int)st[0]));
  x1 = _mm512_add_epi32(x1, _mm512_set1_epi32((int)st[1]));
  x2 = _mm512_add_epi32(x2, _mm512_set1_epi32((int)st[2]));
  x3 = _mm512_add_epi32(x3, _mm512_set1_epi32((int)st[3]));
  x4 = _mm512_add_epi32(x4, _mm512_set1_epi32((int)st[4]));
  x5 = _mm512_add_epi32(x5, _mm512_set1_epi32((int)st[5]));
  x6 = _mm512_add_epi32(x6, _mm512_set1_epi32((int)st[6]));
  x7 = _mm512_add_epi32(x7, _mm512_set1_epi32((int)st[7]));
  x8 = _mm512_add_epi32(x8, _mm512_set1_epi32((int)st[8]));
  x9 = _mm512_add_epi32(x9, _mm512_set1_epi32((int)st[9]));
  x10 = _mm512_add_epi32(x10, _mm512_set1_epi32((int)st[10]));
  x11 = _mm512_add_epi32(x11, _mm512_set1_epi32((int)st[11]));
  x12 = _mm512_add_epi32(x12, _mm512_add_epi32(_mm512_set1_epi32((int)st[12]), lanes));
  x13 = _mm512_add_epi32(x13, _mm512_set1_epi32((int)st[13]));
  x14 = _mm512_add_epi32(x14, _mm512_set1_epi32((int)st[14]));
  x15 = _mm512_add_epi32(x15, _mm512_set1_epi32((int)st[15]));
  __m512i a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3;
  GROUP(x0, x1, x2, x3, a0, a1, a2, a3);
  GROUP(x4, x5, x6, x7, b0, b1, b2, b3);
  GROUP(x8, x9, x10, x11, c0, c1, c2, c3);
  GROUP(x12, x13, x14, x15, d0, d1, d2, d3);
  PUT4(0, a0, b0, c0, d0);
  PUT4(1, a1, b1, c1, d1);
  PUT4(2, a2, b2, c2, d2);
  PUT4(3, a3, b3, c3, d3);
}

/* Row form: the quarter rounds of a double round on rows a, b, c, d, with
 * the diagonals lined up by rotating rows b, c, d (vpshufd). */
#define ROWQR(a, b, c, d) QR(a, b, c, d)
#define DIAG(b, c, d)                  \
  do {                                 \
    b = _mm512_shuffle_epi32(b, 0x39); \
    c = _mm512_shuffle_epi32(c, 0x4e); \
    d = _mm512_shuffle_epi32(d, 0x93); \
  } while (0)
#define UNDIAG(b, c, d)                \
  do {                                 \
    b = _mm512_shuffle_epi32(b, 0x93); \
    c = _mm512_shuffle_epi32(c, 0x4e); \
    d = _mm512_shuffle_epi32(d, 0x39); \
  } while (0)

/* Keystream rows a..d (block L of the set in 128-bit lane L) to blocks. */
#define ROWS_OUT(base, a, b, c, d)                                                      \
  do {                                                                                  \
    __m512i p = _mm512_shuffle_i32x4(a, b, 0x44), q = _mm512_shuffle_i32x4(c, d, 0x44); \
    __m512i r = _mm512_shuffle_i32x4(a, b, 0xee), s = _mm512_shuffle_i32x4(c, d, 0xee); \
    put_block(out, in, len, (base) + 0, _mm512_shuffle_i32x4(p, q, 0x88), 0);           \
    put_block(out, in, len, (base) + 1, _mm512_shuffle_i32x4(p, q, 0xdd), 0);           \
    put_block(out, in, len, (base) + 2, _mm512_shuffle_i32x4(r, s, 0x88), 0);           \
    put_block(out, in, len, (base) + 3, _mm512_shuffle_i32x4(r, s, 0xdd), 0);           \
  } while (0)

/* Up to 4 * nsets (nsets 1 or 2) blocks, len <= 256 * nsets bytes. */
TGT static inline void rows(uint8_t *out, const uint8_t *in, size_t len, const uint32_t st[16], int nsets) {
  const __m512i a0 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)st));
  const __m512i b0 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(st + 4)));
  const __m512i c0 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(st + 8)));
  const __m512i d0 = _mm512_add_epi32(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(st + 12))),
                                      _mm512_setr_epi32(0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0));
  const __m512i d0b = _mm512_add_epi32(d0, _mm512_setr_epi32(4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0));
  __m512i a = a0, b = b0, c = c0, d = d0, e = a0, f = b0, g = c0, h = d0b;
  for (int i = 0; i < 10; i++) {
    ROWQR(a, b, c, d);
    if (nsets > 1) ROWQR(e, f, g, h);
    DIAG(b, c, d);
    if (nsets > 1) DIAG(f, g, h);
    ROWQR(a, b, c, d);
    if (nsets > 1) ROWQR(e, f, g, h);
    UNDIAG(b, c, d);
    if (nsets > 1) UNDIAG(f, g, h);
  }
  a = _mm512_add_epi32(a, a0);
  b = _mm512_add_epi32(b, b0);
  c = _mm512_add_epi32(c, c0);
  d = _mm512_add_epi32(d, d0);
  ROWS_OUT(0, a, b, c, d);
  if (nsets > 1) {
    e = _mm512_add_epi32(e, a0);
    f = _mm512_add_epi32(f, b0);
    g = _mm512_add_epi32(g, c0);
    h = _mm512_add_epi32(h, d0b);
    ROWS_OUT(4, e, f, g, h);
  }
}

/* Clears every vector register: zmm16-31 (vzeroall does not reach them), then
 * vzeroall for zmm0-15 (all 512 bits). */
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

TGT __attribute__((noinline)) static void kernel(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32],
                                                 const uint8_t nonce[12], uint32_t counter) {
  uint32_t st[16];
  /* section 2.3: "expand 32-byte k", key, block counter, nonce */
  st[0] = 0x61707865u;
  st[1] = 0x3320646eu;
  st[2] = 0x79622d32u;
  st[3] = 0x6b206574u;
  for (int i = 0; i < 8; i++) st[4 + i] = tsr_load32_le(key + 4 * i);
  st[12] = counter;
  for (int i = 0; i < 3; i++) st[13 + i] = tsr_load32_le(nonce + 4 * i);
  for (; len >= 1024; len -= 1024, in += 1024, out += 1024, st[12] += 16) blocks16(out, in, 1024, st, 1);
  if (len > 512)
    blocks16(out, in, len, st, 0);
  else if (len > 256)
    rows(out, in, len, st, 2);
  else if (len > 0)
    rows(out, in, len, st, 1);
  tsr_memzero(st, sizeof st);
  clear_vregs();
}

/* The 16-block path has more live vectors than registers (state words,
 * broadcast inputs) and compilers spill them: the stack it used is zeroed
 * after it. The row path (<= 512 bytes) fits in registers (checked with
 * gcc 12 and clang 19 -O2/-O3), so short calls skip this. */
static void xor_stream(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32], const uint8_t nonce[12],
                       uint32_t counter) {
  kernel(out, in, len, key, nonce, counter);
  if (len > 512) tsr_stack_scrub();
}

const tsr_chacha20_impl tsr_chacha20_avx512 = {"avx512", xor_stream};
