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

#include "../../core/tsr_util.h"
#include "tsr_aesgcm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TGT __attribute__((target("aes,pclmul,ssse3,sse4.1")))
#define INL static inline __attribute__((always_inline)) TGT

typedef __m128i X;

/* Clears xmm0-15 (the only vector registers this code touches). */
#define CLEAR_XMM()                                                                                       \
  __asm__ volatile("pxor %%xmm0,%%xmm0\n\tpxor %%xmm1,%%xmm1\n\tpxor %%xmm2,%%xmm2\n\tpxor %%xmm3,%%xmm3\n\t" \
                   "pxor %%xmm4,%%xmm4\n\tpxor %%xmm5,%%xmm5\n\tpxor %%xmm6,%%xmm6\n\tpxor %%xmm7,%%xmm7\n\t" \
                   "pxor %%xmm8,%%xmm8\n\tpxor %%xmm9,%%xmm9\n\tpxor %%xmm10,%%xmm10\n\t"                   \
                   "pxor %%xmm11,%%xmm11\n\tpxor %%xmm12,%%xmm12\n\tpxor %%xmm13,%%xmm13\n\t"               \
                   "pxor %%xmm14,%%xmm14\n\tpxor %%xmm15,%%xmm15" ::                                        \
                       : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",     \
                         "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15")

INL X ld(const uint8_t *p) { return _mm_loadu_si128((const X *)p); }
INL void st(uint8_t *p, X v) { _mm_storeu_si128((X *)p, v); }
INL X bswap_mask(void) { return _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
INL X bswap(X v) { return _mm_shuffle_epi8(v, bswap_mask()); }

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
#define K128(i, rc)                                                           \
  k = kx_fold(k, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k, rc), 0xff)); \
  st(rk + 16 * (i), k)
  K128(1, 0x01); K128(2, 0x02); K128(3, 0x04); K128(4, 0x08); K128(5, 0x10);
  K128(6, 0x20); K128(7, 0x40); K128(8, 0x80); K128(9, 0x1b); K128(10, 0x36);
#undef K128
}

TGT static void expand256(uint8_t *rk, const uint8_t *key) {
  X a = ld(key), b = ld(key + 16);
  st(rk, a);
  st(rk + 16, b);
  /* Even words: RotWord+SubWord+Rcon of the last word (dword 3 of the
   * assist); odd words: SubWord only (dword 2), FIPS 197 section 5.2 Nk=8. */
#define K256(i, rc)                                                                \
  a = kx_fold(a, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(b, rc), 0xff));      \
  st(rk + 16 * (i), a);                                                           \
  if ((i) + 1 < 15) {                                                             \
    b = kx_fold(b, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(a, 0), 0xaa));     \
    st(rk + 16 * ((i) + 1), b);                                                   \
  }
  K256(2, 0x01) K256(4, 0x02) K256(6, 0x04) K256(8, 0x08) K256(10, 0x10) K256(12, 0x20) K256(14, 0x40)
#undef K256
}

/* -------------------------------------------------------------- GHASH */

INL X poly(void) { return _mm_set_epi64x((long long)0xc200000000000000ULL, 1); }

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
INL X kara(X h) { return _mm_xor_si128(h, _mm_shuffle_epi32(h, 0x4e)); }
INL void mul_acc(X *lo, X *mx, X *hi, X a, X h, X hk) {
  *lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, h, 0x00));
  *hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, h, 0x11));
  *mx = _mm_xor_si128(*mx, _mm_clmulepi64_si128(kara(a), hk, 0x00));
}
INL X reduce_k(X lo, X mx, X hi) { return reduce(lo, _mm_xor_si128(mx, _mm_xor_si128(lo, hi)), hi); }

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
  if (keylen == 32) expand256(k->rk, key);
  else expand128(k->rk, key);
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
  X c = bswap(ld(ctr)), a = bswap(ld(acc)), x[8];
  const size_t total = len;
  for (; len >= 128; len -= 128, in += 128, out += 128) {
    counters8(c, x);
    c = _mm_add_epi32(c, _mm_set_epi32(0, 0, 0, 8));
    aes8(k->rk, k->rounds, x);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
      x[j] = _mm_xor_si128(x[j], ld(in + 16 * j));
      st(out + 16 * j, x[j]);
    }
    a = ghash_n(k->h, a, x, 8);
  }
  if (len) {
    ctr_tail(k, c, out, in, len);
    a = ghash_bytes(k->h, a, out, len);
  }
  st(acc, bswap(a));
  bump_ctr(ctr, total);
  tsr_memzero(x, sizeof x);
  CLEAR_XMM();
}

TGT static void dec(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t acc[16], uint8_t *out, const uint8_t *in,
                    size_t len) {
  X c = bswap(ld(ctr)), a = bswap(ld(acc)), x[8], d[8];
  const size_t total = len;
  for (; len >= 128; len -= 128, in += 128, out += 128) {
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) d[j] = ld(in + 16 * j);
    counters8(c, x);
    c = _mm_add_epi32(c, _mm_set_epi32(0, 0, 0, 8));
    a = ghash_n(k->h, a, d, 8);
    aes8(k->rk, k->rounds, x);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) st(out + 16 * j, _mm_xor_si128(x[j], d[j]));
  }
  if (len) {
    a = ghash_bytes(k->h, a, in, len);
    ctr_tail(k, c, out, in, len);
  }
  st(acc, bswap(a));
  bump_ctr(ctr, total);
  tsr_memzero(x, sizeof x);
  tsr_memzero(d, sizeof d);
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
  X c = _mm_add_epi32(bswap(j0), _mm_set_epi32(0, 0, 0, 1)), x[8], d[8];
  X a = ghash_bytes(k->h, _mm_setzero_si128(), aad, alen);
  for (; len >= 128; len -= 128, in += 128, out += 128) {
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) d[j] = ld(in + 16 * j);
    counters8(c, x);
    c = _mm_add_epi32(c, _mm_set_epi32(0, 0, 0, 8));
    if (!encrypt) a = ghash_n(k->h, a, d, 8);
    aes8(k->rk, k->rounds, x);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
      x[j] = _mm_xor_si128(x[j], d[j]);
      st(out + 16 * j, x[j]);
    }
    if (encrypt) a = ghash_n(k->h, a, x, 8);
  }
  if (!encrypt) a = ghash_fin(k->h, a, in, len, lens); /* before out (may equal in) is written */
  if (len) ctr_tail(k, c, out, in, len);
  if (encrypt) a = ghash_fin(k->h, a, out, len, lens);
  st(tag, _mm_xor_si128(bswap(a), e));
  tsr_memzero(x, sizeof x);
  tsr_memzero(d, sizeof d);
}

TGT static void aead(const tsr_aesgcm_key *k, int encrypt, uint8_t *out, const uint8_t iv[12], const uint8_t *in,
                     size_t len, const uint8_t *aad, size_t alen, uint8_t tag[16]) {
  if (encrypt) aead_msg(k, out, iv, in, len, aad, alen, tag, 1);
  else aead_msg(k, out, iv, in, len, aad, alen, tag, 0);
  CLEAR_XMM();
}

const tsr_aesgcm_impl tsr_aesgcm_aesni = {"aesni", init, ecb, ghash, enc, dec, aead};

#else
/* Not x86-64 with GNU C: the tier exists but is never selected
 * (tsr_cpu_features() reports no feature). */
const tsr_aesgcm_impl tsr_aesgcm_aesni = {"aesni", 0, 0, 0, 0, 0, 0};
#endif
