/*
 * tsr_aesgcm tier "vaes256": VAES + VPCLMULQDQ on ymm (AVX2).
 * Constant time: secret data meets only AES round instructions, carry-less
 * multiplies, shuffles and XORs; no table lookup or branch depends on it.
 *
 * Each ymm holds 2 blocks; an iteration covers 8 blocks (128 bytes) in 4
 * registers. GHASH as in aesni.c (Intel's white paper "Carry-Less
 * Multiplication and Its Usage for Computing the GCM Mode", Gueron and
 * Kounavis: reflected blocks, twisted H, Karatsuba, two folding multiplies
 * per reduction): the 8 blocks are multiplied by H^8..H^1 (k->h + 128,
 * one 32-byte load per register), summed unreduced, reduced once per lane
 * and the 2 lanes XORed. The message end (< 128 bytes) goes through a
 * zero-padded stack buffer, wiped afterwards.
 */
#include <string.h>

#include "../../core/tsr_util.h"
#include "tsr_aesgcm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TGT __attribute__((target("avx2,avx,vaes,vpclmulqdq,aes,pclmul,ssse3,sse4.1")))
#define INL static inline __attribute__((always_inline)) TGT

typedef __m256i W;
typedef __m128i X;

INL W ld(const uint8_t *p) { return _mm256_loadu_si256((const W *)p); }
INL void st(uint8_t *p, W v) { _mm256_storeu_si256((W *)p, v); }
INL X ld1(const uint8_t *p) { return _mm_loadu_si128((const X *)p); }
INL W bc(const uint8_t *p) { return _mm256_broadcastsi128_si256(ld1(p)); }
INL X rev128(void) { return _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
INL W bs(W v) { return _mm256_shuffle_epi8(v, _mm256_broadcastsi128_si256(rev128())); }
INL W swap64(W v) { return _mm256_shuffle_epi32(v, 0x4e); }
INL W x3(W a, W b, W c) { return _mm256_xor_si256(a, _mm256_xor_si256(b, c)); }
INL W zx(X a) { return _mm256_inserti128_si256(_mm256_setzero_si256(), a, 0); }
INL W poly(void) { return _mm256_broadcastsi128_si256(_mm_set_epi64x((long long)0xc200000000000000ULL, 1)); }
INL W step2(void) { return _mm256_broadcastsi128_si256(_mm_set_epi32(0, 0, 0, 2)); }

/* lo/hi/mx ^= g * H^i, Karatsuba (aesni.c mul_acc), 2 lanes at once. */
#define MUL_ACC(g, hp)                                                                                  \
  do {                                                                                                  \
    const W g_ = (g), h_ = ld(hp);                                                                      \
    lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128(g_, h_, 0x00));                                   \
    hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128(g_, h_, 0x11));                                   \
    mx = _mm256_xor_si256(mx, _mm256_clmulepi64_epi128(_mm256_xor_si256(g_, swap64(g_)), ld((hp) + 256), 0x00)); \
  } while (0)

/* Middle term, reduction per lane, XOR of the two lanes. */
INL X reduce(W lo, W mx, W hi) {
  W mi = x3(mx, lo, hi);
  mi = x3(mi, _mm256_clmulepi64_epi128(lo, poly(), 0x10), swap64(lo));
  hi = x3(hi, _mm256_clmulepi64_epi128(mi, poly(), 0x10), swap64(mi));
  return _mm_xor_si128(_mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1));
}

/* a absorbs 8 blocks g0..g3 (byte-reversed already), times H^8..H^1. */
INL X ghash8(const uint8_t *h, X a, W g0, W g1, W g2, W g3) {
  W lo = _mm256_setzero_si256(), mx = lo, hi = lo;
  MUL_ACC(g1, h + 160);
  MUL_ACC(g2, h + 192);
  MUL_ACC(g3, h + 224);
  MUL_ACC(_mm256_xor_si256(g0, zx(a)), h + 128);
  return reduce(lo, mx, hi);
}

INL X ghash8p(const uint8_t *h, X a, const uint8_t *p) {
  return ghash8(h, a, bs(ld(p)), bs(ld(p + 32)), bs(ld(p + 64)), bs(ld(p + 96)));
}

/* The last len (1..127) bytes, zero-padded: the n blocks are placed at the
 * end of an 8-block buffer (leading zero blocks add nothing) and the running
 * value is XORed into the first of them, so it meets H^n. */
INL X ghash_tail(const uint8_t *h, X a, const uint8_t *p, size_t len) {
  uint8_t buf[128];
  const size_t off = 128 - 16 * ((len + 15) / 16);
  memset(buf, 0, sizeof buf);
  memcpy(buf + off, p, len);
  _mm_storeu_si128((X *)(buf + off), _mm_xor_si128(ld1(buf + off), _mm_shuffle_epi8(a, rev128())));
  a = ghash8p(h, _mm_setzero_si128(), buf);
  tsr_memzero(buf, sizeof buf);
  return a;
}

INL void aes4(const uint8_t *rk, unsigned nr, W *x0, W *x1, W *x2, W *x3) {
  W r = bc(rk);
  *x0 = _mm256_xor_si256(*x0, r);
  *x1 = _mm256_xor_si256(*x1, r);
  *x2 = _mm256_xor_si256(*x2, r);
  *x3 = _mm256_xor_si256(*x3, r);
  for (unsigned i = 1; i < nr; i++) {
    r = bc(rk + 16 * i);
    *x0 = _mm256_aesenc_epi128(*x0, r);
    *x1 = _mm256_aesenc_epi128(*x1, r);
    *x2 = _mm256_aesenc_epi128(*x2, r);
    *x3 = _mm256_aesenc_epi128(*x3, r);
  }
  r = bc(rk + 16 * nr);
  *x0 = _mm256_aesenclast_epi128(*x0, r);
  *x1 = _mm256_aesenclast_epi128(*x1, r);
  *x2 = _mm256_aesenclast_epi128(*x2, r);
  *x3 = _mm256_aesenclast_epi128(*x3, r);
}

/* 8 counter blocks in byte order from the byte-reversed counter c, whose
 * dword 0 is the big-endian inc32 counter (wraps mod 2^32 under vpaddd,
 * SP 800-38D section 6.2). */
#define COUNTERS8()                        \
  do {                                     \
    x0 = bs(c);                            \
    c = _mm256_add_epi32(c, step2());      \
    x1 = bs(c);                            \
    c = _mm256_add_epi32(c, step2());      \
    x2 = bs(c);                            \
    c = _mm256_add_epi32(c, step2());      \
    x3 = bs(c);                            \
    c = _mm256_add_epi32(c, step2());      \
  } while (0)

INL void crypt(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t accb[16], uint8_t *out, const uint8_t *in,
               size_t len, const int encrypt) {
  const uint8_t *rk = k->rk, *h = k->h;
  const unsigned nr = k->rounds;
  const size_t total = len;
  const X rv = rev128();
  W c = _mm256_add_epi32(_mm256_broadcastsi128_si256(_mm_shuffle_epi8(ld1(ctr), rv)),
                         _mm256_set_epi32(0, 0, 0, 1, 0, 0, 0, 0));
  X a = _mm_shuffle_epi8(ld1(accb), rv);
  W x0, x1, x2, x3;
  for (; len >= 128; len -= 128, in += 128, out += 128) {
    const W d0 = ld(in), d1 = ld(in + 32), d2 = ld(in + 64), d3 = ld(in + 96);
    COUNTERS8();
    if (!encrypt) a = ghash8(h, a, bs(d0), bs(d1), bs(d2), bs(d3));
    aes4(rk, nr, &x0, &x1, &x2, &x3);
    x0 = _mm256_xor_si256(x0, d0);
    x1 = _mm256_xor_si256(x1, d1);
    x2 = _mm256_xor_si256(x2, d2);
    x3 = _mm256_xor_si256(x3, d3);
    st(out, x0);
    st(out + 32, x1);
    st(out + 64, x2);
    st(out + 96, x3);
    if (encrypt) a = ghash8(h, a, bs(x0), bs(x1), bs(x2), bs(x3));
  }
  if (len) {
    uint8_t buf[128];
    if (!encrypt) a = ghash_tail(h, a, in, len);
    COUNTERS8();
    aes4(rk, nr, &x0, &x1, &x2, &x3);
    memset(buf, 0, sizeof buf);
    memcpy(buf, in, len);
    st(buf, _mm256_xor_si256(x0, ld(buf)));
    st(buf + 32, _mm256_xor_si256(x1, ld(buf + 32)));
    st(buf + 64, _mm256_xor_si256(x2, ld(buf + 64)));
    st(buf + 96, _mm256_xor_si256(x3, ld(buf + 96)));
    memcpy(out, buf, len);
    tsr_memzero(buf, sizeof buf);
    if (encrypt) a = ghash_tail(h, a, out, len);
  }
  _mm_storeu_si128((X *)accb, _mm_shuffle_epi8(a, rv));
  tsr_store32_be(ctr + 12, tsr_load32_be(ctr + 12) + (uint32_t)((total + 15) / 16));
}

/* ---------------------------------------------------------------- API */

static void init(tsr_aesgcm_key *k, const uint8_t *key, size_t keylen) {
  tsr_aesgcm_aesni.init(k, key, keylen); /* same key state layout */
}

TGT static void ecb(const tsr_aesgcm_key *k, uint8_t *out, const uint8_t *in, size_t nblocks) {
  W x0, x1, x2, x3;
  for (; nblocks >= 8; nblocks -= 8, in += 128, out += 128) {
    x0 = ld(in), x1 = ld(in + 32), x2 = ld(in + 64), x3 = ld(in + 96);
    aes4(k->rk, k->rounds, &x0, &x1, &x2, &x3);
    st(out, x0);
    st(out + 32, x1);
    st(out + 64, x2);
    st(out + 96, x3);
  }
  for (; nblocks; nblocks--, in += 16, out += 16) {
    X x = _mm_xor_si128(ld1(in), ld1(k->rk));
    for (unsigned i = 1; i < k->rounds; i++) x = _mm_aesenc_si128(x, ld1(k->rk + 16 * i));
    _mm_storeu_si128((X *)out, _mm_aesenclast_si128(x, ld1(k->rk + 16 * k->rounds)));
  }
  _mm256_zeroall();
}

TGT static void ghash(const tsr_aesgcm_key *k, uint8_t acc[16], const uint8_t *in, size_t len) {
  X a = _mm_shuffle_epi8(ld1(acc), rev128());
  for (; len >= 128; len -= 128, in += 128) a = ghash8p(k->h, a, in);
  if (len) a = ghash_tail(k->h, a, in, len);
  _mm_storeu_si128((X *)acc, _mm_shuffle_epi8(a, rev128()));
  _mm256_zeroall();
}

TGT static void enc(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t acc[16], uint8_t *out, const uint8_t *in,
                    size_t len) {
  crypt(k, ctr, acc, out, in, len, 1);
  _mm256_zeroall();
}

TGT static void dec(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t acc[16], uint8_t *out, const uint8_t *in,
                    size_t len) {
  crypt(k, ctr, acc, out, in, len, 0);
  _mm256_zeroall();
}

const tsr_aesgcm_impl tsr_aesgcm_vaes256 = {"vaes256", init, ecb, ghash, enc, dec};

#else
const tsr_aesgcm_impl tsr_aesgcm_vaes256 = {"vaes256", 0, 0, 0, 0, 0};
#endif
