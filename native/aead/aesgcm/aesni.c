/*
 * tsr_aesgcm tier "aesni": AES-NI + PCLMULQDQ on xmm registers.
 * Constant time: secret data meets only AES round instructions, carry-less
 * multiplies, shuffles and XORs; no table lookup or branch depends on it.
 *
 * GHASH follows Intel's white paper "Carry-Less Multiplication and Its Usage
 * for Computing the GCM Mode" (Gueron, Kounavis), sections on bit reflection
 * and aggregated reduction: blocks are byte-reversed so that a 128-bit
 * integer holds the bit-reflected field element, H is stored "twisted" as
 * H * x (shift left by one, reduced), and products are reduced with two
 * folding multiplies by 0xc2000000000000000000000000000001, the reflected
 * form of x^128 + x^7 + x^2 + x + 1 (SP 800-38D section 6.3). Eight blocks
 * are multiplied by H^8..H^1 and summed before one reduction.
 *
 * Key state (shared by every tier, which all call this init): k->rk holds
 * the FIPS 197 section 5.2 schedule, k->h[16 * (16 - i)] holds twisted H^i
 * for i = 1..16 (descending: h[0] = H^16, h[240] = H^1), so n consecutive
 * blocks use the n entries starting at h + 16 * (16 - n); 256 bytes later,
 * the same layout holds each power's two halves XORed (both qwords), the
 * Karatsuba middle operand.
 */
#include <string.h>

#include "../../util/tsr_util.h"
#include "tsr_aesgcm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TGT __attribute__((target("aes,pclmul,ssse3,sse4.1")))
#define INL static inline __attribute__((always_inline)) TGT

typedef __m128i X;

/* Clears xmm0-15 (the only vector registers this code touches). */
#define CLEAR_XMM()                                                                                                    \
  __asm__ volatile(                                                                                                    \
      "pxor %%xmm0,%%xmm0\n\tpxor %%xmm1,%%xmm1\n\tpxor %%xmm2,%%xmm2\n\tpxor %%xmm3,%%xmm3\n\t"                       \
      "pxor %%xmm4,%%xmm4\n\tpxor %%xmm5,%%xmm5\n\tpxor %%xmm6,%%xmm6\n\tpxor %%xmm7,%%xmm7\n\t"                       \
      "pxor %%xmm8,%%xmm8\n\tpxor %%xmm9,%%xmm9\n\tpxor %%xmm10,%%xmm10\n\t"                                           \
      "pxor %%xmm11,%%xmm11\n\tpxor %%xmm12,%%xmm12\n\tpxor %%xmm13,%%xmm13\n\t"                                       \
      "pxor %%xmm14,%%xmm14\n\tpxor %%xmm15,%%xmm15" ::                                                                \
          : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
            "xmm13", "xmm14", "xmm15")

INL X ld(const uint8_t *p) {
  return _mm_loadu_si128((const X *)p);
}
INL void st(uint8_t *p, X v) {
  _mm_storeu_si128((X *)p, v);
}
INL X bswap_mask(void) {
  return _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
INL X bswap(X v) {
  return _mm_shuffle_epi8(v, bswap_mask());
}

/* ---------------------------------------------------------------- AES */

INL X aes1(const uint8_t *rk, unsigned nr, X x) {
  x = _mm_xor_si128(x, ld(rk));
  for (unsigned i = 1; i < nr; i++) x = _mm_aesenc_si128(x, ld(rk + 16 * i));
  return _mm_aesenclast_si128(x, ld(rk + 16 * nr));
}

/* Eight independent blocks, one round key load per round. */
INL void aes8(const uint8_t *rk, unsigned nr, X x[8]) {
  X r = ld(rk);
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++) x[j] = _mm_xor_si128(x[j], r);
  for (unsigned i = 1; i < nr; i++) {
    r = ld(rk + 16 * i);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) x[j] = _mm_aesenc_si128(x[j], r);
  }
  r = ld(rk + 16 * nr);
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++) x[j] = _mm_aesenclast_si128(x[j], r);
}

/* FIPS 197 section 5.2 key expansion with AESKEYGENASSIST: w[i] = w[i-Nk]
 * ^ f(w[i-1]); the three shifted XORs build the running prefix XOR of the
 * previous round key's words. */
INL X kx_fold(X key, X t) {
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  return _mm_xor_si128(key, t);
}

TGT static void expand128(uint8_t *rk, const uint8_t *key) {
  X k = ld(key);
  st(rk, k);
#define K128(i, rc)                                                          \
  k = kx_fold(k, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k, rc), 0xff)); \
  st(rk + 16 * (i), k)
  K128(1, 0x01);
  K128(2, 0x02);
  K128(3, 0x04);
  K128(4, 0x08);
  K128(5, 0x10);
  K128(6, 0x20);
  K128(7, 0x40);
  K128(8, 0x80);
  K128(9, 0x1b);
  K128(10, 0x36);
#undef K128
}

TGT static void expand256(uint8_t *rk, const uint8_t *key) {
  X a = ld(key), b = ld(key + 16);
  st(rk, a);
  st(rk + 16, b);
  /* Even words: RotWord+SubWord+Rcon of the last word (dword 3 of the
   * assist); odd words: SubWord only (dword 2), FIPS 197 section 5.2 Nk=8. */
#define K256(i, rc)                                                           \
  a = kx_fold(a, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(b, rc), 0xff));  \
  st(rk + 16 * (i), a);                                                       \
  if ((i) + 1 < 15) {                                                         \
    b = kx_fold(b, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(a, 0), 0xaa)); \
    st(rk + 16 * ((i) + 1), b);                                               \
  }
  K256(2, 0x01) K256(4, 0x02) K256(6, 0x04) K256(8, 0x08) K256(10, 0x10) K256(12, 0x20) K256(14, 0x40)
#undef K256
}

/* -------------------------------------------------------------- GHASH */

INL X poly(void) {
  return _mm_set_epi64x((long long)0xc200000000000000ULL, 1);
}

/* Montgomery-style reduction of the 256-bit product hi:mi:lo (mi spans the
 * middle 128 bits) modulo the reflected polynomial: two folds of 64 bits. */
INL X reduce(X lo, X mi, X hi) {
  X t = _mm_clmulepi64_si128(lo, poly(), 0x10);
  mi = _mm_xor_si128(mi, _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), t));
  t = _mm_clmulepi64_si128(mi, poly(), 0x10);
  return _mm_xor_si128(hi, _mm_xor_si128(_mm_shuffle_epi32(mi, 0x4e), t));
}

/* Karatsuba: lo/hi/mx ^= a_lo h_lo, a_hi h_hi, (a_lo ^ a_hi)(h_lo ^ h_hi);
 * hk = h_lo ^ h_hi (precomputed). The middle term is mx ^ lo ^ hi, applied
 * once after summing (the map is linear). The multiplier is the scarce unit
 * on current cores: 3 multiplies per block instead of 4. */
INL X kara(X h) {
  return _mm_xor_si128(h, _mm_shuffle_epi32(h, 0x4e));
}
INL void mul_acc(X *lo, X *mx, X *hi, X a, X h, X hk) {
  *lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, h, 0x00));
  *hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, h, 0x11));
  *mx = _mm_xor_si128(*mx, _mm_clmulepi64_si128(kara(a), hk, 0x00));
}
INL X reduce_k(X lo, X mx, X hi) {
  return reduce(lo, _mm_xor_si128(mx, _mm_xor_si128(lo, hi)), hi);
}

INL X gmul(X a, X h) {
  X lo = _mm_setzero_si128(), mx = lo, hi = lo;
  mul_acc(&lo, &mx, &hi, a, h, kara(h));
  return reduce_k(lo, mx, hi);
}

/* acc (reflected) absorbs n <= 8 byte-order blocks b[0..n): aggregated
 * (acc ^ b0) H^n ^ b1 H^(n-1) ^ ... ^ b(n-1) H, one reduction. */
INL X ghash_n(const uint8_t *htab, X acc, const X *b, unsigned n) {
  const uint8_t *hp = htab + 16 * (16 - n);
  X lo = _mm_setzero_si128(), mx = lo, hi = lo;
#pragma GCC unroll 8
  for (unsigned j = 0; j < n; j++) {
    X d = bswap(b[j]);
    if (j == 0) d = _mm_xor_si128(d, acc);
    mul_acc(&lo, &mx, &hi, d, ld(hp + 16 * j), ld(hp + 256 + 16 * j));
  }
  return reduce_k(lo, mx, hi);
}

/* GHASH of len bytes at p (last block zero-padded) into reflected acc. */
INL X ghash_bytes(const uint8_t *htab, X acc, const uint8_t *p, size_t len) {
  X b[8];
  for (; len >= 128; p += 128, len -= 128) {
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) b[j] = ld(p + 16 * j);
    acc = ghash_n(htab, acc, b, 8);
  }
  if (len) {
    uint8_t last[16] = {0};
    unsigned nf = (unsigned)(len / 16), n = (unsigned)((len + 15) / 16);
    for (unsigned j = 0; j < nf; j++) b[j] = ld(p + 16 * j);
    if (len % 16) {
      memcpy(last, p + 16 * nf, len % 16);
      b[nf] = ld(last);
      tsr_memzero(last, sizeof last);
    }
    acc = ghash_n(htab, acc, b, n);
    tsr_memzero(b, sizeof b);
  }
  return acc;
}

/* ---------------------------------------------------------------- API */

TGT static void init(tsr_aesgcm_key *k, const uint8_t *key, size_t keylen) {
  memset(k, 0, sizeof *k);
  k->rounds = keylen == 32 ? 14 : 10;
  if (keylen == 32)
    expand256(k->rk, key);
  else
    expand128(k->rk, key);
  /* H = E_K(0^128) (SP 800-38D section 6.4), reflected, then times x. */
  X h = bswap(aes1(k->rk, k->rounds, _mm_setzero_si128()));
  uint64_t hi = (uint64_t)_mm_extract_epi64(h, 1), lo = (uint64_t)_mm_extract_epi64(h, 0);
  uint64_t m = 0 - (hi >> 63);
  hi = (hi << 1) | (lo >> 63);
  lo <<= 1;
  hi ^= m & 0xc200000000000000ULL;
  lo ^= m & 1;
  X h1 = _mm_set_epi64x((long long)hi, (long long)lo), p = h1;
  st(k->h + 16 * 15, h1);
  st(k->h + 256 + 16 * 15, kara(h1));
  for (int i = 2; i <= 16; i++) {
    p = gmul(p, h1);
    st(k->h + 16 * (16 - i), p);
    st(k->h + 256 + 16 * (16 - i), kara(p));
  }
  hi = lo = m = 0;
  __asm__ volatile("" : : "r"(hi), "r"(lo), "r"(m));
  CLEAR_XMM();
}

TGT static void ecb(const tsr_aesgcm_key *k, uint8_t *out, const uint8_t *in, size_t nblocks) {
  X x[8];
  for (; nblocks >= 8; nblocks -= 8, in += 128, out += 128) {
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) x[j] = ld(in + 16 * j);
    aes8(k->rk, k->rounds, x);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) st(out + 16 * j, x[j]);
  }
  for (; nblocks; nblocks--, in += 16, out += 16) st(out, aes1(k->rk, k->rounds, ld(in)));
  CLEAR_XMM();
}

TGT static void ghash(const tsr_aesgcm_key *k, uint8_t acc[16], const uint8_t *in, size_t len) {
  st(acc, bswap(ghash_bytes(k->h, bswap(ld(acc)), in, len)));
  CLEAR_XMM();
}

/* Counter blocks are kept byte-reversed: the big-endian 32-bit counter of
 * SP 800-38D section 6.2 (inc32) becomes dword 0, so _mm_add_epi32 wraps it
 * mod 2^32 without touching the IV bytes. */
INL void counters8(X c, X x[8]) {
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++) x[j] = bswap(_mm_add_epi32(c, _mm_set_epi32(0, 0, 0, j)));
}

/* ------------------------------------------------- stitched 8-block loop */

/* Constants of the loop, read as aligned memory operands (legacy SSE
 * encodings fault on unaligned ones): the byte-reversal mask, the counter
 * increments 1..8 (dword 0), the reduction constant of poly(). */
static const struct {
  uint8_t mask[16];
  uint32_t inc[8][4];
  uint64_t poly[2];
} __attribute__((aligned(16))) kc = {{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
                                     {{1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}},
                                     {1, 0xc200000000000000ULL}};

/* The AES rounds of 8 counter blocks stitched with GHASH of 8 other blocks,
 * after Intel's white paper "Optimized Galois-Counter-Mode Implementation on
 * Intel Architecture Processors" (Gopal et al., 2010): the multiplies fill
 * the issue slots the AES rounds' latency leaves free, one instruction
 * stream, no dependence between the two. Fixed registers (16 xmm, as for
 * every SSE CPU): the blocks in xmm0-7, the round key in
 * xmm8, GHASH's input block, temporary and power of H in xmm9-11, the
 * Karatsuba middle and high sums in xmm12/13; the low sum shares the
 * register of the accumulator a (it absorbs a into block 0 first), the
 * byte-reversed counter c has the last one. Round r (1..8) also multiplies
 * block r-1 by H^(8-(r-1)); round 9 reduces (aggregated reduction, Gueron
 * and Kounavis, "Carry-Less Multiplication and Its Usage for Computing the
 * GCM Mode"). No stack traffic: round keys and powers of H are reloaded. */
#define XM(n) "%%xmm" #n
#define AES8(op)                                                                                     \
  op " %%xmm8,%%xmm0\n\t" op " %%xmm8,%%xmm1\n\t" op " %%xmm8,%%xmm2\n\t" op " %%xmm8,%%xmm3\n\t" op \
     " %%xmm8,%%xmm4\n\t" op " %%xmm8,%%xmm5\n\t" op " %%xmm8,%%xmm6\n\t" op " %%xmm8,%%xmm7\n\t"
#define ROUND(i) "movdqu 16*" #i "(%[rk]),%%xmm8\n\t" AES8("aesenc")
#define CTR(j)   "movdqa %[c]," XM(j) "\n\tpaddd 16*" #j "(%[kc])," XM(j) "\n\tpshufb (%[kc])," XM(j) "\n\t"
/* Block j of g times H^(8-j) (k->h + 16 * (8 + j)), Karatsuba halves
 * 256 bytes further. */
#define GH(j)                                                                                \
  "movdqu 16*" #j "(%[g]),%%xmm9\n\tpshufb (%[kc]),%%xmm9\n\tmovdqu 128+16*" #j              \
  "(%[h]),%%xmm11\n\t"                                                                       \
  "movdqa %%xmm9,%%xmm10\n\tpclmulqdq $0x00,%%xmm11,%%xmm10\n\tpxor %%xmm10,%[a]\n\t"        \
  "pshufd $0x4e,%%xmm9,%%xmm10\n\tpxor %%xmm9,%%xmm10\n\tpclmulqdq $0x11,%%xmm11,%%xmm9\n\t" \
  "pxor %%xmm9,%%xmm13\n\tmovdqu 384+16*" #j                                                 \
  "(%[h]),%%xmm11\n\tpclmulqdq $0x00,%%xmm11,%%xmm10\n\t"                                    \
  "pxor %%xmm10,%%xmm12\n\t"
#define GH0                                                                                           \
  "movdqu (%[g]),%%xmm9\n\tpshufb (%[kc]),%%xmm9\n\tpxor %[a],%%xmm9\n\tmovdqu 128(%[h]),%%xmm11\n\t" \
  "movdqa %%xmm9,%[a]\n\tpclmulqdq $0x00,%%xmm11,%[a]\n\tpshufd $0x4e,%%xmm9,%%xmm10\n\t"             \
  "pxor %%xmm9,%%xmm10\n\tmovdqa %%xmm9,%%xmm13\n\tpclmulqdq $0x11,%%xmm11,%%xmm13\n\t"               \
  "movdqu 384(%[h]),%%xmm11\n\tpclmulqdq $0x00,%%xmm11,%%xmm10\n\tmovdqa %%xmm10,%%xmm12\n\t"
/* reduce_k(lo = a, mx = xmm12, hi = xmm13) into a. */
#define RED                                                                                           \
  "pxor %[a],%%xmm12\n\tpxor %%xmm13,%%xmm12\n\tmovdqa 144(%[kc]),%%xmm11\n\tmovdqa %[a],%%xmm10\n\t" \
  "pclmulqdq $0x10,%%xmm11,%%xmm10\n\tpshufd $0x4e,%[a],%[a]\n\tpxor %[a],%%xmm12\n\t"                \
  "pxor %%xmm10,%%xmm12\n\tmovdqa %%xmm12,%%xmm10\n\tpclmulqdq $0x10,%%xmm11,%%xmm10\n\t"             \
  "pshufd $0x4e,%%xmm12,%[a]\n\tpxor %%xmm13,%[a]\n\tpxor %%xmm10,%[a]\n\t"
#define XST(j) "movdqu 16*" #j "(%[in]),%%xmm9\n\tpxor %%xmm9," XM(j) "\n\tmovdqu " XM(j) ",16*" #j "(%[out])\n\t"

/* n >= 1 times: out[0..128) = in ^ E_K(8 counter blocks from c), c += 8,
 * a absorbs g[0..128); in, out, g advance by 128. g = in (decryption: the
 * same ciphertext, read before out, which may equal in, is written) or
 * out - 128 (encryption: the previous ciphertext). */
INL void stitch8(const tsr_aesgcm_key *k, X *c, X *a, uint8_t *out, const uint8_t *in, const uint8_t *g, size_t n) {
  __asm__ volatile(
      "1:\n\t"
      "movdqa %[c],%%xmm0\n\tpshufb (%[kc]),%%xmm0\n\t" CTR(1) CTR(2) CTR(3) CTR(4) CTR(5) CTR(6) CTR(7)
      "paddd 16*8(%[kc]),%[c]\n\t"
      "movdqu (%[rk]),%%xmm8\n\t" AES8("pxor")
      ROUND(1) GH0 ROUND(2) GH(1) ROUND(3) GH(2) ROUND(4) GH(3) ROUND(5) GH(4) ROUND(6) GH(5)
      ROUND(7) GH(6) ROUND(8) GH(7) ROUND(9) RED
      "cmpl $10,%[nr]\n\tje 2f\n\t"
      ROUND(10) ROUND(11) ROUND(12) ROUND(13)
      "2:\n\t"
      "movdqu (%[rkl]),%%xmm8\n\t" AES8("aesenclast")
      XST(0) XST(1) XST(2) XST(3) XST(4) XST(5) XST(6) XST(7)
      "add $128,%[in]\n\tadd $128,%[out]\n\tadd $128,%[g]\n\tdec %[n]\n\tjnz 1b\n\t"
      : [c] "+x"(*c), [a] "+x"(*a), [in] "+r"(in), [out] "+r"(out), [g] "+r"(g), [n] "+r"(n)
      : [rk] "r"(k->rk), [rkl] "r"(k->rk + 16 * k->rounds), [h] "r"(k->h), [kc] "r"(&kc), [nr] "r"(k->rounds)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13");
}

/* nb >= 1 full 8-block batches of encryption: the first alone, each next
 * one stitched with GHASH of the one before, the last hashed after (x ends
 * holding that ciphertext, which is public: nothing to wipe). */
INL X seal8(const tsr_aesgcm_key *k, X *c, X a, uint8_t *out, const uint8_t *in, size_t nb) {
  X x[8];
  counters8(*c, x);
  *c = _mm_add_epi32(*c, _mm_set_epi32(0, 0, 0, 8));
  aes8(k->rk, k->rounds, x);
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++) st(out + 16 * j, _mm_xor_si128(x[j], ld(in + 16 * j)));
  if (nb > 1) stitch8(k, c, &a, out + 128, in + 128, out, nb - 1);
  out += 128 * (nb - 1);
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++) x[j] = ld(out + 16 * j);
  return ghash_n(k->h, a, x, 8);
}

/* The < 128-byte end of a message: keystream of up to 8 blocks at once. */
INL void ctr_tail(const tsr_aesgcm_key *k, X c, uint8_t *out, const uint8_t *in, size_t len) {
  X x[8];
  uint8_t last[16];
  size_t nf = len / 16, r = len % 16;
  counters8(c, x);
  aes8(k->rk, k->rounds, x);
  for (size_t j = 0; j < nf; j++) st(out + 16 * j, _mm_xor_si128(x[j], ld(in + 16 * j)));
  if (r) {
    memset(last, 0, sizeof last);
    memcpy(last, in + 16 * nf, r);
    st(last, _mm_xor_si128(x[nf], ld(last)));
    memcpy(out + 16 * nf, last, r);
    tsr_memzero(last, sizeof last);
  }
  tsr_memzero(x, sizeof x);
}

static void bump_ctr(uint8_t ctr[16], size_t len) {
  tsr_store32_be(ctr + 12, tsr_load32_be(ctr + 12) + (uint32_t)((len + 15) / 16));
}

TGT static void enc(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t acc[16], uint8_t *out, const uint8_t *in,
                    size_t len) {
  X c = bswap(ld(ctr)), a = bswap(ld(acc));
  const size_t nb = len / 128;
  if (nb) a = seal8(k, &c, a, out, in, nb);
  in += 128 * nb, out += 128 * nb;
  if (len % 128) {
    ctr_tail(k, c, out, in, len % 128);
    a = ghash_bytes(k->h, a, out, len % 128);
  }
  st(acc, bswap(a));
  bump_ctr(ctr, len);
  CLEAR_XMM();
}

TGT static void dec(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t acc[16], uint8_t *out, const uint8_t *in,
                    size_t len) {
  X c = bswap(ld(ctr)), a = bswap(ld(acc));
  const size_t nb = len / 128;
  if (nb) stitch8(k, &c, &a, out, in, in, nb);
  in += 128 * nb, out += 128 * nb;
  if (len % 128) {
    a = ghash_bytes(k->h, a, in, len % 128);
    ctr_tail(k, c, out, in, len % 128);
  }
  st(acc, bswap(a));
  bump_ctr(ctr, len);
  CLEAR_XMM();
}

/* The last len (0..127) bytes at p and then the length block lens
 * (reflected, SP 800-38D section 7.1 step 5): one aggregated reduction
 * when the blocks leave room for it among H^8..H^1. */
INL X ghash_fin(const uint8_t *htab, X acc, const uint8_t *p, size_t len, X lens) {
  X b[8];
  uint8_t last[16] = {0};
  unsigned nf = (unsigned)(len / 16), n = (unsigned)((len + 15) / 16);
  for (unsigned j = 0; j < nf; j++) b[j] = ld(p + 16 * j);
  if (len % 16) {
    memcpy(last, p + 16 * nf, len % 16);
    b[nf] = ld(last);
    tsr_memzero(last, sizeof last);
  }
  if (n < 8) {
    b[n] = bswap(lens);
    acc = ghash_n(htab, acc, b, n + 1);
  } else {
    acc = ghash_n(htab, acc, b, n);
    b[0] = bswap(lens);
    acc = ghash_n(htab, acc, b, 1);
  }
  tsr_memzero(b, sizeof b);
  return acc;
}

/* The whole message (impl->aead): J0 = IV || 0^31 || 1 (SP 800-38D
 * section 7.1), E_K(J0) beside the AAD's GHASH, GCTR from inc32(J0), and
 * the length block hashed with the message end. */
INL void aead_msg(const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12], const uint8_t *in, size_t len,
                  const uint8_t *aad, size_t alen, uint8_t tag[16], const int encrypt) {
  uint8_t j0b[16];
  memcpy(j0b, iv, 12);
  tsr_store32_be(j0b + 12, 1);
  const X j0 = ld(j0b), e = aes1(k->rk, k->rounds, j0);
  const X lens = _mm_set_epi64x((long long)((uint64_t)alen * 8), (long long)((uint64_t)len * 8));
  X c = _mm_add_epi32(bswap(j0), _mm_set_epi32(0, 0, 0, 1));
  X a = ghash_bytes(k->h, _mm_setzero_si128(), aad, alen);
  const size_t nb = len / 128;
  if (nb && encrypt)
    a = seal8(k, &c, a, out, in, nb);
  else if (nb)
    stitch8(k, &c, &a, out, in, in, nb);
  in += 128 * nb, out += 128 * nb, len %= 128;
  if (!encrypt) a = ghash_fin(k->h, a, in, len, lens); /* before out (may equal in) is written */
  if (len) ctr_tail(k, c, out, in, len);
  if (encrypt) a = ghash_fin(k->h, a, out, len, lens);
  st(tag, _mm_xor_si128(bswap(a), e));
}

TGT static void aead(const tsr_aesgcm_key *k, int encrypt, uint8_t *out, const uint8_t iv[12], const uint8_t *in,
                     size_t len, const uint8_t *aad, size_t alen, uint8_t tag[16]) {
  if (encrypt)
    aead_msg(k, out, iv, in, len, aad, alen, tag, 1);
  else
    aead_msg(k, out, iv, in, len, aad, alen, tag, 0);
  CLEAR_XMM();
}

const tsr_aesgcm_impl tsr_aesgcm_aesni = {"aesni", init, ecb, ghash, enc, dec, aead};

#else
/* Not x86-64 with GNU C: the tier exists but is never selected
 * (tsr_cpu_features() reports no feature). */
const tsr_aesgcm_impl tsr_aesgcm_aesni = {"aesni", 0, 0, 0, 0, 0, 0};
#endif
