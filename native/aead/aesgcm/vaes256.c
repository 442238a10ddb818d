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
 * zero-padded stack buffer, wiped afterwards; in the one-call path
 * (aead) whole blocks go straight from in to out, the last partial block
 * in 8/4/2/1-byte pieces, and the end is hashed on xmm with the length
 * block (up to 9 blocks times H^9..H^1, one reduction).
 */
#include <string.h>

#include "../../util/tsr_util.h"
#include "tsr_aesgcm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TGT __attribute__((target("avx2,avx,vaes,vpclmulqdq,aes,pclmul,ssse3,sse4.1")))
#define INL static inline __attribute__((always_inline)) TGT

typedef __m256i W;
typedef __m128i X;

INL W ld(const uint8_t *p) {
  return _mm256_loadu_si256((const W *)p);
}
INL void st(uint8_t *p, W v) {
  _mm256_storeu_si256((W *)p, v);
}
INL X ld1(const uint8_t *p) {
  return _mm_loadu_si128((const X *)p);
}
INL W bc(const uint8_t *p) {
  return _mm256_broadcastsi128_si256(ld1(p));
}
INL X rev128(void) {
  return _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
INL W bs(W v) {
  return _mm256_shuffle_epi8(v, _mm256_broadcastsi128_si256(rev128()));
}
INL W swap64(W v) {
  return _mm256_shuffle_epi32(v, 0x4e);
}
INL W x3(W a, W b, W c) {
  return _mm256_xor_si256(a, _mm256_xor_si256(b, c));
}
INL W zx(X a) {
  return _mm256_inserti128_si256(_mm256_setzero_si256(), a, 0);
}
INL W poly(void) {
  return _mm256_broadcastsi128_si256(_mm_set_epi64x((long long)0xc200000000000000ULL, 1));
}
INL W step2(void) {
  return _mm256_broadcastsi128_si256(_mm_set_epi32(0, 0, 0, 2));
}

/* lo/hi/mx ^= g * H^i, Karatsuba (aesni.c mul_acc), 2 lanes at once. */
#define MUL_ACC(g, hp)                                                                                           \
  do {                                                                                                           \
    const W g_ = (g), h_ = ld(hp);                                                                               \
    lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128(g_, h_, 0x00));                                           \
    hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128(g_, h_, 0x11));                                           \
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
#define COUNTERS8()                   \
  do {                                \
    x0 = bs(c);                       \
    c = _mm256_add_epi32(c, step2()); \
    x1 = bs(c);                       \
    c = _mm256_add_epi32(c, step2()); \
    x2 = bs(c);                       \
    c = _mm256_add_epi32(c, step2()); \
    x3 = bs(c);                       \
    c = _mm256_add_epi32(c, step2()); \
  } while (0)

/* Bytes [0, r) of p (r < 16) as a zero-padded block and back, in
 * pieces of 8/4/2/1 bytes chosen by the public r: nothing past p + r is
 * read or written, and no store-forwarding stall (as a bounce buffer
 * filled by memcpy has). */
INL X ld_part(const uint8_t *p, size_t r) {
  uint64_t w[2] = {0, 0}, t = 0;
  const size_t o = r & 8, q = r & 7;
  if (o) memcpy(&w[0], p, 8);
  if (q & 4) {
    uint32_t v;
    memcpy(&v, p + o, 4);
    t = v;
  }
  if (q & 2) {
    uint16_t v;
    memcpy(&v, p + o + (q & 4), 2);
    t |= (uint64_t)v << (8 * (q & 4));
  }
  if (q & 1) t |= (uint64_t)p[o + (q & 6)] << (8 * (q & 6));
  w[o >> 3] = t;
  return _mm_set_epi64x((long long)w[1], (long long)w[0]);
}
INL void st_part(uint8_t *p, X v, size_t r) {
  const size_t o = r & 8, q = r & 7;
  const uint64_t lo = (uint64_t)_mm_cvtsi128_si64(v), hi = (uint64_t)_mm_extract_epi64(v, 1), t = o ? hi : lo;
  if (o) memcpy(p, &lo, 8);
  if (q & 4) {
    uint32_t v4 = (uint32_t)t;
    memcpy(p + o, &v4, 4);
  }
  if (q & 2) {
    uint16_t v2 = (uint16_t)(t >> (8 * (q & 4)));
    memcpy(p + o + (q & 4), &v2, 2);
  }
  if (q & 1) p[o + (q & 6)] = (uint8_t)(t >> (8 * (q & 6)));
}

/* xmm Karatsuba step and reduction (aesni.c mul_acc, reduce_k). */
INL void mul_acc1(X *lo, X *mx, X *hi, X a, const uint8_t *hp) {
  const X h = ld1(hp);
  *lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, h, 0x00));
  *hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, h, 0x11));
  *mx = _mm_xor_si128(*mx, _mm_clmulepi64_si128(_mm_xor_si128(a, _mm_shuffle_epi32(a, 0x4e)), ld1(hp + 256), 0x00));
}
INL X reduce1(X lo, X mx, X hi) {
  const X p = _mm_set_epi64x((long long)0xc200000000000000ULL, 1);
  X mi = _mm_xor_si128(mx, _mm_xor_si128(lo, hi));
  mi = _mm_xor_si128(mi, _mm_xor_si128(_mm_clmulepi64_si128(lo, p, 0x10), _mm_shuffle_epi32(lo, 0x4e)));
  return _mm_xor_si128(hi, _mm_xor_si128(_mm_clmulepi64_si128(mi, p, 0x10), _mm_shuffle_epi32(mi, 0x4e)));
}

/* a absorbs len (0..127) bytes at p, zero-padded, then (fin) the length
 * block lens (reflected): n <= 9 blocks times H^n..H^1, one reduction. */
INL X ghash_short(const uint8_t *h, X a, const uint8_t *p, size_t len, const int fin, X lens) {
  const size_t nf = len / 16, r = len % 16, n = nf + (r != 0) + (fin != 0);
  const uint8_t *hp = h + 16 * (16 - n);
  X lo = _mm_setzero_si128(), mx = lo, hi = lo;
  if (!n) return a;
  for (size_t j = 0; j < nf; j++)
    mul_acc1(&lo, &mx, &hi, _mm_xor_si128(_mm_shuffle_epi8(ld1(p + 16 * j), rev128()), j ? _mm_setzero_si128() : a),
             hp + 16 * j);
  if (r)
    mul_acc1(&lo, &mx, &hi,
             _mm_xor_si128(_mm_shuffle_epi8(ld_part(p + 16 * nf, r), rev128()), nf ? _mm_setzero_si128() : a),
             hp + 16 * nf);
  if (fin) mul_acc1(&lo, &mx, &hi, _mm_xor_si128(lens, n == 1 ? a : _mm_setzero_si128()), h + 240);
  return reduce1(lo, mx, hi);
}

/* GCTR + GHASH (SP 800-38D sections 6.5, 6.4), encrypt != 0 hashing out;
 * returns the GHASH value. c: the next 2 counter blocks, byte-reversed;
 * a: the running GHASH value. fin != 0 also hashes the length block lens
 * with the message end. */
INL X crypt(const tsr_aesgcm_key *k, W c, X a, uint8_t *out, const uint8_t *in, size_t len, const int encrypt,
            const int fin, X lens) {
  const uint8_t *rk = k->rk, *h = k->h;
  const unsigned nr = k->rounds;
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
  if (fin) { /* whole blocks straight from in to out, the last part in pieces */
    uint8_t ks[128];
    if (!encrypt) a = ghash_short(h, a, in, len, 1, lens); /* before out (may equal in) is written */
    if (len) {
      const size_t nf = len / 16, r = len % 16;
      COUNTERS8();
      aes4(rk, nr, &x0, &x1, &x2, &x3);
      st(ks, x0);
      st(ks + 32, x1);
      st(ks + 64, x2);
      st(ks + 96, x3);
      for (size_t j = 0; j < nf; j++)
        _mm_storeu_si128((X *)(out + 16 * j), _mm_xor_si128(ld1(in + 16 * j), ld1(ks + 16 * j)));
      if (r) st_part(out + 16 * nf, _mm_xor_si128(ld_part(in + 16 * nf, r), ld1(ks + 16 * nf)), r);
      tsr_memzero(ks, sizeof ks);
    }
    if (encrypt) a = ghash_short(h, a, out, len, 1, lens);
  } else if (len) {
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
  return a;
}

/* enc/dec: the pieces interface (counter and GHASH value in memory). */
INL void crypt_mem(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t accb[16], uint8_t *out, const uint8_t *in,
                   size_t len, const int encrypt) {
  const X rv = rev128();
  const W c = _mm256_add_epi32(_mm256_broadcastsi128_si256(_mm_shuffle_epi8(ld1(ctr), rv)),
                               _mm256_set_epi32(0, 0, 0, 1, 0, 0, 0, 0));
  const X a = crypt(k, c, _mm_shuffle_epi8(ld1(accb), rv), out, in, len, encrypt, 0, _mm_setzero_si128());
  _mm_storeu_si128((X *)accb, _mm_shuffle_epi8(a, rv));
  tsr_store32_be(ctr + 12, tsr_load32_be(ctr + 12) + (uint32_t)((len + 15) / 16));
}

/* The whole message (impl->aead): J0 = IV || 0^31 || 1 (SP 800-38D
 * section 7.1), E_K(J0) beside the AAD's GHASH, GCTR from inc32(J0), the
 * length block hashed with the message end. */
INL void aead_msg(const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12], const uint8_t *in, size_t len,
                  const uint8_t *aad, size_t alen, uint8_t tag[16], const int encrypt) {
  const uint8_t *rk = k->rk;
  uint8_t j0b[16];
  memcpy(j0b, iv, 12);
  tsr_store32_be(j0b + 12, 1);
  const X j0 = ld1(j0b), rv = rev128();
  X e = _mm_xor_si128(j0, ld1(rk));
  for (unsigned i = 1; i < k->rounds; i++) e = _mm_aesenc_si128(e, ld1(rk + 16 * i));
  e = _mm_aesenclast_si128(e, ld1(rk + 16 * k->rounds));
  const X lens = _mm_set_epi64x((long long)((uint64_t)alen * 8), (long long)((uint64_t)len * 8));
  X a = _mm_setzero_si128();
  for (; alen >= 128; alen -= 128, aad += 128) a = ghash8p(k->h, a, aad);
  a = ghash_short(k->h, a, aad, alen, 0, lens);
  const W c = _mm256_add_epi32(_mm256_broadcastsi128_si256(_mm_shuffle_epi8(j0, rv)),
                               _mm256_set_epi32(0, 0, 0, 2, 0, 0, 0, 1)); /* inc32(J0), +1 */
  a = crypt(k, c, a, out, in, len, encrypt, 1, lens);
  _mm_storeu_si128((X *)tag, _mm_xor_si128(_mm_shuffle_epi8(a, rv), e));
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
  crypt_mem(k, ctr, acc, out, in, len, 1);
  _mm256_zeroall();
}

TGT static void dec(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t acc[16], uint8_t *out, const uint8_t *in,
                    size_t len) {
  crypt_mem(k, ctr, acc, out, in, len, 0);
  _mm256_zeroall();
}

TGT static void aead(const tsr_aesgcm_key *k, int encrypt, uint8_t *out, const uint8_t iv[12], const uint8_t *in,
                     size_t len, const uint8_t *aad, size_t alen, uint8_t tag[16]) {
  if (encrypt)
    aead_msg(k, out, iv, in, len, aad, alen, tag, 1);
  else
    aead_msg(k, out, iv, in, len, aad, alen, tag, 0);
  _mm256_zeroall();
}

const tsr_aesgcm_impl tsr_aesgcm_vaes256 = {"vaes256", init, ecb, ghash, enc, dec, aead};

#else
const tsr_aesgcm_impl tsr_aesgcm_vaes256 = {"vaes256", 0, 0, 0, 0, 0, 0};
#endif
