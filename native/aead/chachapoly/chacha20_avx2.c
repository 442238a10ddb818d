/* Constant time: 32-bit additions, rotations and xors only; no branch or index on secret data. */
/*
 * ChaCha20 (RFC 8439 sections 2.3-2.4) on AVX2, after Goll and Gueron,
 * "Vectorization of ChaCha Stream Cipher" (ITNG 2014):
 *  - 512 bytes at a time: 8 blocks in parallel, ymm register i holding state
 *    word i of all 8 blocks (lane j = block counter + j), rotations by 16 and
 *    8 as byte shuffles (vpshufb), by 12 and 7 as shift pairs; an 8x8
 *    transpose of 32-bit words back to blocks (unpack epi32/epi64, then
 *    permute2x128);
 *  - tails of 257..511 bytes: the same, the last partial 32 bytes through a
 *    wiped stack buffer;
 *  - tails up to 256 bytes: the "row" form, one ymm per state row holding two
 *    blocks (one per 128-bit lane), diagonals by vpshufd, two sets
 *    interleaved (latency bound: the second set is nearly free).
 * Registers of the 8-block rounds: x86-64 has 16 ymm registers, and 16 state
 * words plus a temporary per rotation in flight do not fit. Left to the
 * compiler (intrinsics), gcc 12 and clang 19 both spill and reload state
 * words inside the round loop. The rounds are therefore one asm block with a
 * fixed assignment, the scheme of OpenSSL's ChaCha20_8x
 * (crypto/chacha/asm/chacha-x86_64.pl): words 8..11 share two registers and
 * four stack slots, quarter rounds go in interleaved pairs, and between
 * pairs two of those words are stored and the other two loaded (4 stores and
 * 4 loads per double round, off the critical path). The round loop is then
 * bound by the latency of its dependency chains: a quarter round is 14
 * dependent vector operations, 2 cycles each on AMD Zen 5. Two sets of 8
 * blocks (16 chains) did not help; with the second set's words in memory,
 * the window of waiting operations still held about 4 chains.
 * The broadcast input state and the working copy are stack memory holding
 * key words: they are wiped before returning, the exported function then
 * zeroes the stack region the kernel used (anything else the compiler put
 * there), and vector registers are cleared with vzeroall.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../../util/tsr_util.h"
#include "tsr_chachapoly_kern.h"

#define TGT __attribute__((target("avx2")))

#define ROT16                                                                                                          \
  _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, \
                   12, 13)
#define ROT8                                                                                                           \
  _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, \
                   13, 14)
#define ROTL(v, n) _mm256_or_si256(_mm256_slli_epi32(v, n), _mm256_srli_epi32(v, 32 - (n)))

/* RFC 8439 section 2.1 quarter round on vectors. */
#define QR(a, b, c, d)               \
  do {                               \
    a = _mm256_add_epi32(a, b);      \
    d = _mm256_xor_si256(d, a);      \
    d = _mm256_shuffle_epi8(d, r16); \
    c = _mm256_add_epi32(c, d);      \
    b = _mm256_xor_si256(b, c);      \
    b = ROTL(b, 12);                 \
    a = _mm256_add_epi32(a, b);      \
    d = _mm256_xor_si256(d, a);      \
    d = _mm256_shuffle_epi8(d, r8);  \
    c = _mm256_add_epi32(c, d);      \
    b = _mm256_xor_si256(b, c);      \
    b = ROTL(b, 7);                  \
  } while (0)

/* Byte-rotation masks for the 8-block rounds, read from memory by vpshufb. */
static const uint8_t rot_masks[2][32] __attribute__((aligned(32))) = {
    {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13},
    {3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14}};

/* The 20 rounds of 8 blocks as one asm block with a fixed register
 * assignment: words 0..7 in ymm0..ymm7, 12..15 in ymm12..ymm15, two of words
 * 8..11 in ymm8/ymm9 (the other two in their slots w[10], w[11] or w[8],
 * w[9]), ymm10/ymm11 temporaries of the rotations by 12 and 7 (shift
 * pairs); rotations by 16 and 8 are vpshufb with the masks in memory. */
#define Y(n) "%%ymm" #n
// clang-format off: the asm macros and the kernel are laid out one step per line by hand
#define VADD(a, b) "vpaddd " b ", " a ", " a "\n\t"
#define VXOR(a, b) "vpxor " b ", " a ", " a "\n\t"
#define VSHUF(a, m) "vpshufb " m ", " a ", " a "\n\t"
#define VROT(a, t, n) "vpslld $" #n ", " a ", " t "\n\tvpsrld $(32-" #n "), " a ", " a "\n\tvpor " t ", " a ", " a "\n\t"
/* Two quarter rounds (section 2.1) interleaved step by step. */
#define QR2(a0, b0, c0, d0, a1, b1, c1, d1)                                                \
  VADD(a0, b0) VADD(a1, b1) VXOR(d0, a0) VXOR(d1, a1)                                      \
  VSHUF(d0, "(%[m])") VSHUF(d1, "(%[m])")                                                  \
  VADD(c0, d0) VADD(c1, d1) VXOR(b0, c0) VXOR(b1, c1)                                      \
  VROT(b0, Y(10), 12) VROT(b1, Y(11), 12)                                                  \
  VADD(a0, b0) VADD(a1, b1) VXOR(d0, a0) VXOR(d1, a1)                                      \
  VSHUF(d0, "32(%[m])") VSHUF(d1, "32(%[m])")                                              \
  VADD(c0, d0) VADD(c1, d1) VXOR(b0, c0) VXOR(b1, c1)                                      \
  VROT(b0, Y(10), 7) VROT(b1, Y(11), 7)
#define LD(r, i) "vmovdqa 32*" #i "(%[s]), " r "\n\t"
#define LDW(r, i) "vmovdqa 32*" #i "(%[w]), " r "\n\t"
#define STW(r, i) "vmovdqa " r ", 32*" #i "(%[w])\n\t"
#define FF(r, i) "vpaddd 32*" #i "(%[s]), " r ", " r "\n\t" STW(r, i)

/* w = the 16 words of 8 blocks after 20 rounds (section 2.3) from s, plus s
 * (section 2.3.1 feed-forward). s and w are 32-byte aligned. */
TGT static inline void rounds8(__m256i w[16], const __m256i s[16]) {
  unsigned n = 10;
  __asm__ volatile(
      LD(Y(0), 0) LD(Y(1), 1) LD(Y(2), 2) LD(Y(3), 3) LD(Y(4), 4) LD(Y(5), 5) LD(Y(6), 6) LD(Y(7), 7)
      LD(Y(8), 8) LD(Y(9), 9) LD(Y(10), 10) LD(Y(11), 11) STW(Y(10), 10) STW(Y(11), 11)
      LD(Y(12), 12) LD(Y(13), 13) LD(Y(14), 14) LD(Y(15), 15)
      "1:\n\t"
      /* column round: words 8, 9 in ymm8, ymm9, then 10, 11 */
      QR2(Y(0), Y(4), Y(8), Y(12), Y(1), Y(5), Y(9), Y(13))
      STW(Y(8), 8) STW(Y(9), 9) LDW(Y(8), 10) LDW(Y(9), 11)
      QR2(Y(2), Y(6), Y(8), Y(14), Y(3), Y(7), Y(9), Y(15))
      /* diagonal round: words 10, 11 in ymm8, ymm9, then 8, 9 */
      QR2(Y(0), Y(5), Y(8), Y(15), Y(1), Y(6), Y(9), Y(12))
      STW(Y(8), 10) STW(Y(9), 11) LDW(Y(8), 8) LDW(Y(9), 9)
      QR2(Y(2), Y(7), Y(8), Y(13), Y(3), Y(4), Y(9), Y(14))
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      FF(Y(0), 0) FF(Y(1), 1) FF(Y(2), 2) FF(Y(3), 3) FF(Y(4), 4) FF(Y(5), 5) FF(Y(6), 6) FF(Y(7), 7)
      FF(Y(8), 8) FF(Y(9), 9) LDW(Y(10), 10) LDW(Y(11), 11) FF(Y(10), 10) FF(Y(11), 11)
      FF(Y(12), 12) FF(Y(13), 13) FF(Y(14), 14) FF(Y(15), 15)
      : [n] "+r"(n), "=m"(*(__m256i(*)[16])w)
      : [s] "r"(s), [w] "r"(w), [m] "r"(rot_masks), "m"(*(const __m256i(*)[16])s), "m"(rot_masks)
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15");
}
// clang-format on

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
#define GROUP(a, b, c, d, o0, o1, o2, o3)                                       \
  do {                                                                          \
    __m256i t0 = _mm256_unpacklo_epi32(a, b), t1 = _mm256_unpackhi_epi32(a, b); \
    __m256i t2 = _mm256_unpacklo_epi32(c, d), t3 = _mm256_unpackhi_epi32(c, d); \
    o0 = _mm256_unpacklo_epi64(t0, t2);                                         \
    o1 = _mm256_unpackhi_epi64(t0, t2);                                         \
    o2 = _mm256_unpacklo_epi64(t1, t3);                                         \
    o3 = _mm256_unpackhi_epi64(t1, t3);                                         \
  } while (0)

/* Half h (bytes 32h..32h+31) of blocks k and 4 + k from the group outputs
 * u (words 8h..8h+3) and v (words 8h+4..8h+7) of index k. */
#define PUTH(h, k, u, v)                                                                        \
  do {                                                                                          \
    put32(out, in, len, 64 * (k) + 32 * (h), _mm256_permute2x128_si256(u, v, 0x20), tmp);       \
    put32(out, in, len, 64 * (k) + 32 * (h) + 256, _mm256_permute2x128_si256(u, v, 0x31), tmp); \
  } while (0)

/* Bytes 32h..32h+31 of every block from words 8h..8h+7 of the 8 blocks. */
#define HALF(h)                                                                            \
  do {                                                                                     \
    __m256i a0, a1, a2, a3, b0, b1, b2, b3;                                                \
    GROUP(w[8 * (h)], w[8 * (h) + 1], w[8 * (h) + 2], w[8 * (h) + 3], a0, a1, a2, a3);     \
    GROUP(w[8 * (h) + 4], w[8 * (h) + 5], w[8 * (h) + 6], w[8 * (h) + 7], b0, b1, b2, b3); \
    PUTH(h, 0, a0, b0);                                                                    \
    PUTH(h, 1, a1, b1);                                                                    \
    PUTH(h, 2, a2, b2);                                                                    \
    PUTH(h, 3, a3, b3);                                                                    \
  } while (0)

/* 8 blocks from the broadcast state s (s[12] = counters of the 8 blocks):
 * min(len, 512) bytes of out. w is the caller's (wiped) working memory. */
TGT static inline __attribute__((always_inline)) void blocks8(uint8_t *out, const uint8_t *in, size_t len,
                                                              const __m256i s[16], __m256i w[16], uint8_t *tmp) {
  rounds8(w, s);
  HALF(0);
  HALF(1);
}

#define DIAG(b, c, d)                  \
  do {                                 \
    b = _mm256_shuffle_epi32(b, 0x39); \
    c = _mm256_shuffle_epi32(c, 0x4e); \
    d = _mm256_shuffle_epi32(d, 0x93); \
  } while (0)
#define UNDIAG(b, c, d)                \
  do {                                 \
    b = _mm256_shuffle_epi32(b, 0x93); \
    c = _mm256_shuffle_epi32(c, 0x4e); \
    d = _mm256_shuffle_epi32(d, 0x39); \
  } while (0)

/* Keystream rows (block L of the set in 128-bit lane L) to two blocks. */
#define ROWS_OUT(base, a, b, c, d)                                                     \
  do {                                                                                 \
    put32(out, in, len, 64 * (base), _mm256_permute2x128_si256(a, b, 0x20), tmp);      \
    put32(out, in, len, 64 * (base) + 32, _mm256_permute2x128_si256(c, d, 0x20), tmp); \
    put32(out, in, len, 64 * (base) + 64, _mm256_permute2x128_si256(a, b, 0x31), tmp); \
    put32(out, in, len, 64 * (base) + 96, _mm256_permute2x128_si256(c, d, 0x31), tmp); \
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
    QR(a, b, c, d);
    QR(e, f, g, h);
    DIAG(b, c, d);
    DIAG(f, g, h);
    QR(a, b, c, d);
    QR(e, f, g, h);
    UNDIAG(b, c, d);
    UNDIAG(f, g, h);
  }
  a = _mm256_add_epi32(a, a0);
  b = _mm256_add_epi32(b, b0);
  c = _mm256_add_epi32(c, c0);
  d = _mm256_add_epi32(d, d0);
  ROWS_OUT(0, a, b, c, d);
  if (len > 128) {
    e = _mm256_add_epi32(e, a0);
    f = _mm256_add_epi32(f, b0);
    g = _mm256_add_epi32(g, c0);
    h = _mm256_add_epi32(h, d0b);
    ROWS_OUT(2, e, f, g, h);
  }
}

TGT __attribute__((noinline)) static void kernel(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32],
                                                 const uint8_t nonce[12], uint32_t counter) {
  uint32_t st[16];
  uint8_t tmp[32];
  /* section 2.3: "expand 32-byte k", key, block counter, nonce */
  st[0] = 0x61707865u;
  st[1] = 0x3320646eu;
  st[2] = 0x79622d32u;
  st[3] = 0x6b206574u;
  for (int i = 0; i < 8; i++) st[4 + i] = tsr_load32_le(key + 4 * i);
  st[12] = counter;
  for (int i = 0; i < 3; i++) st[13 + i] = tsr_load32_le(nonce + 4 * i);
  if (len > 256) {
    __m256i s[16]; /* word i of the 8 blocks; s[12] = counter + lane */
    __m256i w[16]; /* rounds8 output, and its slots for words 8..11 */
    for (int i = 0; i < 16; i++) s[i] = _mm256_set1_epi32((int)st[i]);
    s[12] = _mm256_add_epi32(s[12], _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (; len >= 512; len -= 512, in += 512, out += 512) {
      blocks8(out, in, 512, s, w, tmp);
      s[12] = _mm256_add_epi32(s[12], _mm256_set1_epi32(8));
    }
    st[12] = (uint32_t)_mm256_extract_epi32(s[12], 0);
    if (len > 256) {
      blocks8(out, in, len, s, w, tmp);
      len = 0;
    }
    tsr_memzero(s, sizeof s);
    tsr_memzero(w, sizeof w);
  }
  if (len > 0) rows(out, in, len, st, tmp);
  tsr_memzero(st, sizeof st);
  tsr_memzero(tmp, sizeof tmp);
  _mm256_zeroall();
}

/* The kernel's frame (spilled state words) is zeroed after it. */
static void xor_stream(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32], const uint8_t nonce[12],
                       uint32_t counter) {
  kernel(out, in, len, key, nonce, counter);
  tsr_stack_scrub();
}

const tsr_chacha20_impl tsr_chacha20_avx2 = {"avx2", xor_stream};
