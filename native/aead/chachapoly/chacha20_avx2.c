/* Constant time: 32-bit additions, rotations and xors only; no branch or index on secret data. */
/*
 * ChaCha20 (RFC 8439 sections 2.3-2.4) on AVX2, after Goll and Gueron,
 * "Vectorization of ChaCha Stream Cipher" (ITNG 2014):
 *  - 512 bytes at a time: 8 blocks in parallel, ymm register i holding state
 *    word i of all 8 blocks (lane j = block counter + j), rotations by 16 and
 *    8 as byte shuffles (vpshufb), by 12 and 7 as shift pairs; an 8x8
 *    transpose of 32-bit words back to blocks;
 *  - tails of 257..511 bytes: the same, the last partial 32 bytes through a
 *    wiped stack buffer;
 *  - tails up to 256 bytes: the "row" form, one ymm per state row holding two
 *    blocks (one per 128-bit lane), diagonals by vpshufd, two sets
 *    interleaved (latency bound: the second set is nearly free).
 * With 16 ymm registers the compiler spills state words to the stack: the
 * exported function runs the kernel, then zeroes the stack region it used.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../../core/tsr_util.h"
#include "tsr_chachapoly_kern.h"

#define TGT __attribute__((target("avx2")))

#define ROT16 _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)
#define ROT8 _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14)
#define ROTL(v, n) _mm256_or_si256(_mm256_slli_epi32(v, n), _mm256_srli_epi32(v, 32 - (n)))

/* RFC 8439 section 2.1 quarter round on vectors. */
#define QR(a, b, c, d)                                                                             \
  do {                                                                                             \
    a = _mm256_add_epi32(a, b); d = _mm256_xor_si256(d, a); d = _mm256_shuffle_epi8(d, r16);        \
    c = _mm256_add_epi32(c, d); b = _mm256_xor_si256(b, c); b = ROTL(b, 12);                        \
    a = _mm256_add_epi32(a, b); d = _mm256_xor_si256(d, a); d = _mm256_shuffle_epi8(d, r8);         \
    c = _mm256_add_epi32(c, d); b = _mm256_xor_si256(b, c); b = ROTL(b, 7);                         \
  } while (0)

/* out = in ^ ks for the 32 bytes at off, or the part of them below len (the
 * length is public); tmp is the caller's buffer, wiped by the caller. */
TGT static inline void put32(uint8_t *out, const uint8_t *in, size_t len, size_t off, __m256i ks, uint8_t *tmp) {
  if (off + 32 <= len) {
    _mm256_storeu_si256((__m256i *)(out + off), _mm256_xor_si256(ks, _mm256_loadu_si256((const __m256i *)(in + off))));
  } else if (off < len) {
    _mm256_storeu_si256((__m256i *)tmp, ks);
    for (size_t i = 0; i < len - off; i++) out[off + i] = (uint8_t)(in[off + i] ^ tmp[i]);
  }
}

/* Words 4g..4g+3: 32- then 64-bit unpacks leave those words of block 4L+k in
 * 128-bit lane L of o_k. */
#define GROUP(a, b, c, d, o0, o1, o2, o3)                                         \
  do {                                                                            \
    __m256i t0 = _mm256_unpacklo_epi32(a, b), t1 = _mm256_unpackhi_epi32(a, b);   \
    __m256i t2 = _mm256_unpacklo_epi32(c, d), t3 = _mm256_unpackhi_epi32(c, d);   \
    o0 = _mm256_unpacklo_epi64(t0, t2); o1 = _mm256_unpackhi_epi64(t0, t2);       \
    o2 = _mm256_unpacklo_epi64(t1, t3); o3 = _mm256_unpackhi_epi64(t1, t3);       \
  } while (0)

/* Blocks k and 4 + k from the group outputs u0..u3 of index k. */
#define PUT2(k, u0, u1, u2, u3)                                                                      \
  do {                                                                                               \
    put32(out, in, len, 64 * (k), _mm256_permute2x128_si256(u0, u1, 0x20), tmp);                     \
    put32(out, in, len, 64 * (k) + 32, _mm256_permute2x128_si256(u2, u3, 0x20), tmp);                \
    put32(out, in, len, 64 * (k) + 256, _mm256_permute2x128_si256(u0, u1, 0x31), tmp);               \
    put32(out, in, len, 64 * (k) + 288, _mm256_permute2x128_si256(u2, u3, 0x31), tmp);               \
  } while (0)

#define SET1(i) _mm256_set1_epi32((int)st[i])

/* 8 blocks with counters st[12] + 0..7: min(len, 512) bytes of out. */
TGT static inline void blocks8(uint8_t *out, const uint8_t *in, size_t len, const uint32_t st[16], uint8_t *tmp) {
  const __m256i r16 = ROT16, r8 = ROT8, lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i x0 = SET1(0), x1 = SET1(1), x2 = SET1(2), x3 = SET1(3), x4 = SET1(4), x5 = SET1(5), x6 = SET1(6);
  __m256i x7 = SET1(7), x8 = SET1(8), x9 = SET1(9), x10 = SET1(10), x11 = SET1(11);
  __m256i x12 = _mm256_add_epi32(SET1(12), lanes), x13 = SET1(13), x14 = SET1(14), x15 = SET1(15);
  for (int i = 0; i < 10; i++) { /* section 2.3: column then diagonal rounds */
    QR(x0, x4, x8, x12); QR(x1, x5, x9, x13); QR(x2, x6, x10, x14); QR(x3, x7, x11, x15);
    QR(x0, x5, x10, x15); QR(x1, x6, x11, x12); QR(x2, x7, x8, x13); QR(x3, x4, x9, x14);
  }
  /* section 2.3.1 feed-forward */
  x0 = _mm256_add_epi32(x0, SET1(0)); x1 = _mm256_add_epi32(x1, SET1(1));
  x2 = _mm256_add_epi32(x2, SET1(2)); x3 = _mm256_add_epi32(x3, SET1(3));
  x4 = _mm256_add_epi32(x4, SET1(4)); x5 = _mm256_add_epi32(x5, SET1(5));
  x6 = _mm256_add_epi32(x6, SET1(6)); x7 = _mm256_add_epi32(x7, SET1(7));
  x8 = _mm256_add_epi32(x8, SET1(8)); x9 = _mm256_add_epi32(x9, SET1(9));
  x10 = _mm256_add_epi32(x10, SET1(10)); x11 = _mm256_add_epi32(x11, SET1(11));
  x12 = _mm256_add_epi32(x12, _mm256_add_epi32(SET1(12), lanes));
  x13 = _mm256_add_epi32(x13, SET1(13)); x14 = _mm256_add_epi32(x14, SET1(14));
  x15 = _mm256_add_epi32(x15, SET1(15));
  __m256i a0, a1, a2, a3, b0, b1, b2, b3;
  GROUP(x0, x1, x2, x3, a0, a1, a2, a3);
  GROUP(x4, x5, x6, x7, b0, b1, b2, b3);
  __m256i c0, c1, c2, c3, d0, d1, d2, d3;
  GROUP(x8, x9, x10, x11, c0, c1, c2, c3);
  GROUP(x12, x13, x14, x15, d0, d1, d2, d3);
  PUT2(0, a0, b0, c0, d0);
  PUT2(1, a1, b1, c1, d1);
  PUT2(2, a2, b2, c2, d2);
  PUT2(3, a3, b3, c3, d3);
}

#define DIAG(b, c, d) do { b = _mm256_shuffle_epi32(b, 0x39); c = _mm256_shuffle_epi32(c, 0x4e); d = _mm256_shuffle_epi32(d, 0x93); } while (0)
#define UNDIAG(b, c, d) do { b = _mm256_shuffle_epi32(b, 0x93); c = _mm256_shuffle_epi32(c, 0x4e); d = _mm256_shuffle_epi32(d, 0x39); } while (0)

/* Keystream rows (block L of the set in 128-bit lane L) to two blocks. */
#define ROWS_OUT(base, a, b, c, d)                                                                   \
  do {                                                                                               \
    put32(out, in, len, 64 * (base), _mm256_permute2x128_si256(a, b, 0x20), tmp);                    \
    put32(out, in, len, 64 * (base) + 32, _mm256_permute2x128_si256(c, d, 0x20), tmp);               \
    put32(out, in, len, 64 * (base) + 64, _mm256_permute2x128_si256(a, b, 0x31), tmp);               \
    put32(out, in, len, 64 * (base) + 96, _mm256_permute2x128_si256(c, d, 0x31), tmp);               \
  } while (0)

/* Up to 4 blocks (len <= 256), two interleaved sets of two. */
TGT static inline void rows(uint8_t *out, const uint8_t *in, size_t len, const uint32_t st[16], uint8_t *tmp) {
  const __m256i r16 = ROT16, r8 = ROT8;
  const __m256i a0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)st));
  const __m256i b0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(st + 4)));
  const __m256i c0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(st + 8)));
  const __m256i d0 = _mm256_add_epi32(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(st + 12))),
                                      _mm256_setr_epi32(0, 0, 0, 0, 1, 0, 0, 0));
  const __m256i d0b = _mm256_add_epi32(d0, _mm256_setr_epi32(2, 0, 0, 0, 2, 0, 0, 0));
  __m256i a = a0, b = b0, c = c0, d = d0, e = a0, f = b0, g = c0, h = d0b;
  for (int i = 0; i < 10; i++) {
    QR(a, b, c, d); QR(e, f, g, h);
    DIAG(b, c, d); DIAG(f, g, h);
    QR(a, b, c, d); QR(e, f, g, h);
    UNDIAG(b, c, d); UNDIAG(f, g, h);
  }
  a = _mm256_add_epi32(a, a0); b = _mm256_add_epi32(b, b0);
  c = _mm256_add_epi32(c, c0); d = _mm256_add_epi32(d, d0);
  ROWS_OUT(0, a, b, c, d);
  if (len > 128) {
    e = _mm256_add_epi32(e, a0); f = _mm256_add_epi32(f, b0);
    g = _mm256_add_epi32(g, c0); h = _mm256_add_epi32(h, d0b);
    ROWS_OUT(2, e, f, g, h);
  }
}

TGT __attribute__((noinline)) static void kernel(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32],
                                                const uint8_t nonce[12], uint32_t counter) {
  uint32_t st[16];
  uint8_t tmp[32];
  /* section 2.3: "expand 32-byte k", key, block counter, nonce */
  st[0] = 0x61707865u; st[1] = 0x3320646eu; st[2] = 0x79622d32u; st[3] = 0x6b206574u;
  for (int i = 0; i < 8; i++) st[4 + i] = tsr_load32_le(key + 4 * i);
  st[12] = counter;
  for (int i = 0; i < 3; i++) st[13 + i] = tsr_load32_le(nonce + 4 * i);
  for (; len >= 512; len -= 512, in += 512, out += 512, st[12] += 8) blocks8(out, in, 512, st, tmp);
  if (len > 256)
    blocks8(out, in, len, st, tmp);
  else if (len > 0)
    rows(out, in, len, st, tmp);
  tsr_memzero(st, sizeof st);
  tsr_memzero(tmp, sizeof tmp);
  _mm256_zeroall();
}

/* Zeroes the stack region the kernel's frame (spilled state words) used. */
__attribute__((noinline)) static void scrub_stack(void) {
  uint8_t pad[2048];
  tsr_memzero(pad, sizeof pad);
  __asm__ volatile("" : : "r"(pad) : "memory");
}

static void xor_stream(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32], const uint8_t nonce[12],
                       uint32_t counter) {
  kernel(out, in, len, key, nonce, counter);
  scrub_stack();
}

const tsr_chacha20_impl tsr_chacha20_avx2 = {"avx2", xor_stream};
