/*
 * tsr_aesgcm tier "vaes512": VAES + VPCLMULQDQ on zmm (AVX-512 F/BW/VL).
 * Constant time: secret data meets only AES round instructions, carry-less
 * multiplies, shuffles and XORs; no table lookup or branch depends on it
 * (masks for the message end depend on the public length only).
 *
 * Each zmm holds 4 blocks, so an iteration covers 16 blocks (256 bytes) in
 * 4 registers. GHASH uses the bit-reflected representation and the twisted
 * H of Intel's white paper "Carry-Less Multiplication and Its Usage for
 * Computing the GCM Mode" (Gueron, Kounavis), see aesni.c: the 16 blocks
 * are multiplied by H^16..H^1 (k->h, descending, one 64-byte load per
 * register), the 16 products are summed unreduced (lo, mi, hi), reduced
 * once per lane with two folding multiplies, and the 4 lanes XORed into
 * one block. For encryption the GHASH of iteration i's ciphertext runs
 * between the AES rounds of iteration i+1's counter blocks, so the two
 * units overlap. The message end (< 256 bytes) uses AVX-512 byte masks for
 * loads and stores (no bounce buffer, no byte loop).
 */
#include "../../util/tsr_util.h"
#include "tsr_aesgcm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx2,avx,vaes,vpclmulqdq,aes,pclmul,ssse3,sse4.1")))
#define INL static inline __attribute__((always_inline)) TGT

typedef __m512i V;
typedef __m128i X;

/* Clears zmm0-31: EVEX vpxord on zmm16-31 (writing xmm zeroes the whole
 * register), then vzeroall for zmm0-15. */
#define CLEAR_ZMM()                                                                                                    \
  __asm__ volatile(                                                                                                    \
      "vpxord %%xmm16,%%xmm16,%%xmm16\n\tvpxord %%xmm17,%%xmm17,%%xmm17\n\t"                                           \
      "vpxord %%xmm18,%%xmm18,%%xmm18\n\tvpxord %%xmm19,%%xmm19,%%xmm19\n\t"                                           \
      "vpxord %%xmm20,%%xmm20,%%xmm20\n\tvpxord %%xmm21,%%xmm21,%%xmm21\n\t"                                           \
      "vpxord %%xmm22,%%xmm22,%%xmm22\n\tvpxord %%xmm23,%%xmm23,%%xmm23\n\t"                                           \
      "vpxord %%xmm24,%%xmm24,%%xmm24\n\tvpxord %%xmm25,%%xmm25,%%xmm25\n\t"                                           \
      "vpxord %%xmm26,%%xmm26,%%xmm26\n\tvpxord %%xmm27,%%xmm27,%%xmm27\n\t"                                           \
      "vpxord %%xmm28,%%xmm28,%%xmm28\n\tvpxord %%xmm29,%%xmm29,%%xmm29\n\t"                                           \
      "vpxord %%xmm30,%%xmm30,%%xmm30\n\tvpxord %%xmm31,%%xmm31,%%xmm31\n\tvzeroall" ::                                \
          : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
            "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",         \
            "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31")

INL V ld(const uint8_t *p) {
  return _mm512_loadu_si512((const void *)p);
}
INL void st(uint8_t *p, V v) {
  _mm512_storeu_si512((void *)p, v);
}
INL V bc(const uint8_t *p) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128((const X *)p));
}
INL X rev128(void) {
  return _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
INL V bs(V v) {
  return _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(rev128()));
}
INL V xor3(V a, V b, V c) {
  return _mm512_ternarylogic_epi32(a, b, c, 0x96);
}
INL V swap64(V v) {
  return _mm512_shuffle_epi32(v, (_MM_PERM_ENUM)0x4e);
}
/* Bytes [0, min(m, 64)) of a 64-byte register (m >= 1). */
INL __mmask64 bytemask(size_t m) {
  return ~0ULL >> (64 - (m < 64 ? m : 64));
}

/* Per-lane constants: counter offsets 0..3 in dword 0 of each lane, the
 * step of 4 blocks, and the reflected GCM polynomial (see aesni.c). */
INL V lane_offsets(void) {
  return _mm512_set_epi32(0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0);
}
INL V step4(void) {
  return _mm512_broadcast_i32x4(_mm_set_epi32(0, 0, 0, 4));
}
INL V poly(void) {
  return _mm512_broadcast_i32x4(_mm_set_epi64x((long long)0xc200000000000000ULL, 1));
}

/* Unreduced Karatsuba accumulation (see aesni.c mul_acc), 4 lanes at
 * once: lo/hi/mx (^)= g * H^i for the powers at hp (k->h) and their
 * Karatsuba operands at hp + 256; hv/kv variants take registers. */
#define MUL_FIRSTV(g, hv, kv)                                                    \
  do {                                                                           \
    const V g_ = (g), h_ = (hv);                                                 \
    lo = _mm512_clmulepi64_epi128(g_, h_, 0x00);                                 \
    hi = _mm512_clmulepi64_epi128(g_, h_, 0x11);                                 \
    mx = _mm512_clmulepi64_epi128(_mm512_xor_si512(g_, swap64(g_)), (kv), 0x00); \
  } while (0)
#define MUL_ACCV(g, hv, kv)                                                                            \
  do {                                                                                                 \
    const V g_ = (g), h_ = (hv);                                                                       \
    lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(g_, h_, 0x00));                                 \
    hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(g_, h_, 0x11));                                 \
    mx = _mm512_xor_si512(mx, _mm512_clmulepi64_epi128(_mm512_xor_si512(g_, swap64(g_)), (kv), 0x00)); \
  } while (0)
#define MUL_FIRST(g, hp) MUL_FIRSTV(g, ld(hp), ld((hp) + 256))
#define MUL_ACC(g, hp)   MUL_ACCV(g, ld(hp), ld((hp) + 256))
/* Karatsuba middle term, then the two 64-bit folds of the reduction
 * (aesni.c reduce), per lane. */
#define RED1()                                                             \
  do {                                                                     \
    mi = xor3(mx, lo, hi);                                                 \
    mi = xor3(mi, _mm512_clmulepi64_epi128(lo, poly(), 0x10), swap64(lo)); \
  } while (0)
#define RED2() hi = xor3(hi, _mm512_clmulepi64_epi128(mi, poly(), 0x10), swap64(mi))

/* XOR of the 4 lanes: the reduced GHASH value. */
INL X fold(V v) {
  __m256i y = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  return _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
}

/* Full AES of one or four registers (rounds loop; round keys broadcast). */
INL V aes1(const uint8_t *rk, unsigned nr, V x) {
  x = _mm512_xor_si512(x, bc(rk));
  for (unsigned i = 1; i < nr; i++) x = _mm512_aesenc_epi128(x, bc(rk + 16 * i));
  return _mm512_aesenclast_epi128(x, bc(rk + 16 * nr));
}
#define AESR(i)                        \
  do {                                 \
    const V r_ = bc(rk + 16 * (i));    \
    x0 = _mm512_aesenc_epi128(x0, r_); \
    x1 = _mm512_aesenc_epi128(x1, r_); \
    x2 = _mm512_aesenc_epi128(x2, r_); \
    x3 = _mm512_aesenc_epi128(x3, r_); \
  } while (0)
#define AESLAST()                          \
  do {                                     \
    const V r_ = bc(rk + 16 * nr);         \
    x0 = _mm512_aesenclast_epi128(x0, r_); \
    x1 = _mm512_aesenclast_epi128(x1, r_); \
    x2 = _mm512_aesenclast_epi128(x2, r_); \
    x3 = _mm512_aesenclast_epi128(x3, r_); \
  } while (0)
/* The next 16 counter blocks (byte order), whitened with round key 0. */
#define COUNTERS16()                  \
  do {                                \
    const V r_ = bc(rk);              \
    x0 = _mm512_xor_si512(bs(c), r_); \
    c = _mm512_add_epi32(c, step4()); \
    x1 = _mm512_xor_si512(bs(c), r_); \
    c = _mm512_add_epi32(c, step4()); \
    x2 = _mm512_xor_si512(bs(c), r_); \
    c = _mm512_add_epi32(c, step4()); \
    x3 = _mm512_xor_si512(bs(c), r_); \
    c = _mm512_add_epi32(c, step4()); \
  } while (0)
/* Deferred reduction: the 16 products of an iteration are left unreduced
 * in (plo, pmx, phi) and reduced by the next iteration, between its own
 * products (which do not depend on it); only then is the reduced value az
 * multiplied by H^16 and added. The chain from one iteration to the next
 * (two folds, one multiply) thus overlaps 12 independent multiplies
 * instead of idling the multiplier (Intel's white paper, aggregated
 * reduction). REDP: az = reduce(plo, pmx, phi), per lane. */
#define REDP()                                                               \
  do {                                                                       \
    V m_ = xor3(pmx, plo, phi);                                              \
    m_ = xor3(m_, _mm512_clmulepi64_epi128(plo, poly(), 0x10), swap64(plo)); \
    az = xor3(phi, _mm512_clmulepi64_epi128(m_, poly(), 0x10), swap64(m_));  \
  } while (0)
#define PEND() \
  do {         \
    plo = lo;  \
    pmx = mx;  \
    phi = hi;  \
  } while (0)
/* Two batches of 16 counter blocks in flight: x0..x3 (batch B) take
 * rounds hr+1..nr while y0..y3 (batch C) take rounds 1..hr, hr = nr / 2,
 * so every step issues 8 independent AES rounds (one batch alone would
 * leave the AES units waiting on round latency). The GHASH of g0..g3
 * (times H^16..H^1) is woven between the steps: the pending sum is
 * reduced, the new products summed with az * H^16, and left pending. */
#define STEP2(s)                            \
  do {                                      \
    const V rb_ = bc(rk + 16 * (hr + (s))); \
    const V rc_ = bc(rk + 16 * (s));        \
    x0 = _mm512_aesenc_epi128(x0, rb_);     \
    y0 = _mm512_aesenc_epi128(y0, rc_);     \
    x1 = _mm512_aesenc_epi128(x1, rb_);     \
    y1 = _mm512_aesenc_epi128(y1, rc_);     \
    x2 = _mm512_aesenc_epi128(x2, rb_);     \
    y2 = _mm512_aesenc_epi128(y2, rc_);     \
    x3 = _mm512_aesenc_epi128(x3, rb_);     \
    y3 = _mm512_aesenc_epi128(y3, rc_);     \
  } while (0)
#define PIPE_GHASH16()                      \
  do {                                      \
    STEP2(1);                               \
    REDP();                                 \
    MUL_FIRST(g1, ht + 64);                 \
    STEP2(2);                               \
    MUL_ACC(g2, ht + 128);                  \
    MUL_ACC(g3, ht + 192);                  \
    STEP2(3);                               \
    MUL_ACC(g0, ht);                        \
    STEP2(4);                               \
    MUL_ACCV(az, bc(ht), bc(ht + 256));     \
    PEND();                                 \
    if (nr == 14) {                         \
      STEP2(5);                             \
      STEP2(6);                             \
    }                                       \
    const V rb_ = bc(rk + 16 * nr);         \
    const V rc_ = bc(rk + 16 * hr);         \
    x0 = _mm512_aesenclast_epi128(x0, rb_); \
    y0 = _mm512_aesenc_epi128(y0, rc_);     \
    x1 = _mm512_aesenclast_epi128(x1, rb_); \
    y1 = _mm512_aesenc_epi128(y1, rc_);     \
    x2 = _mm512_aesenclast_epi128(x2, rb_); \
    y2 = _mm512_aesenc_epi128(y2, rc_);     \
    x3 = _mm512_aesenclast_epi128(x3, rb_); \
    y3 = _mm512_aesenc_epi128(y3, rc_);     \
  } while (0)
/* Batch B alone: its rounds hr+1..nr with the same GHASH woven in. */
#define FINISH_GHASH16()                                \
  do {                                                  \
    AESR(hr + 1);                                       \
    REDP();                                             \
    MUL_FIRST(g1, ht + 64);                             \
    AESR(hr + 2);                                       \
    MUL_ACC(g2, ht + 128);                              \
    MUL_ACC(g3, ht + 192);                              \
    AESR(hr + 3);                                       \
    MUL_ACC(g0, ht);                                    \
    AESR(hr + 4);                                       \
    MUL_ACCV(az, bc(ht), bc(ht + 256));                 \
    PEND();                                             \
    for (unsigned i_ = hr + 5; i_ < nr; i_++) AESR(i_); \
    AESLAST();                                          \
  } while (0)
#define GHASH16()                       \
  do {                                  \
    REDP();                             \
    MUL_FIRST(g1, ht + 64);             \
    MUL_ACC(g2, ht + 128);              \
    MUL_ACC(g3, ht + 192);              \
    MUL_ACC(g0, ht);                    \
    MUL_ACCV(az, bc(ht), bc(ht + 256)); \
    PEND();                             \
  } while (0)
/* Store batch B (x0..x3 keystream) XOR in; g0..g3 = its ciphertext, for
 * encryption, byte-reversed with the GHASH value in lane 0. */
#define STORE_B(ENC)                         \
  do {                                       \
    x0 = _mm512_xor_si512(x0, ld(in));       \
    x1 = _mm512_xor_si512(x1, ld(in + 64));  \
    x2 = _mm512_xor_si512(x2, ld(in + 128)); \
    x3 = _mm512_xor_si512(x3, ld(in + 192)); \
    st(out, x0);                             \
    st(out + 64, x1);                        \
    st(out + 128, x2);                       \
    st(out + 192, x3);                       \
    if (ENC) {                               \
      g0 = bs(x0);                           \
      g1 = bs(x1);                           \
      g2 = bs(x2);                           \
      g3 = bs(x3);                           \
    }                                        \
    in += 256;                               \
    out += 256;                              \
    len -= 256;                              \
  } while (0)
/* Decryption hashes the ciphertext of batch B itself, read from in. */
#define LOAD_G()           \
  do {                     \
    g0 = bs(ld(in));       \
    g1 = bs(ld(in + 64));  \
    g2 = bs(ld(in + 128)); \
    g3 = bs(ld(in + 192)); \
  } while (0)

INL V zx(X a) {
  return _mm512_zextsi128_si512(a);
}

/* The message end, len (1..255) bytes at p, zero-padded: n blocks times
 * H^n..H^1, one reduction. The table loads are masked to the n entries so
 * nothing past k->h is read; data bytes past len are never read. */
INL X ghash_tail(const uint8_t *h, V az, const uint8_t *p, size_t len) {
  const size_t padded = (len + 15) & ~(size_t)15;
  const uint8_t *hp = h + 256 - padded;
  V lo, mx, mi, hi;
  MUL_FIRSTV(az, bc(hp), bc(hp + 256));
  for (size_t j = 0; j < len; j += 64) {
    const __mmask64 mt = bytemask(padded - j);
    const V g = bs(_mm512_maskz_loadu_epi8(bytemask(len - j), p + j));
    MUL_ACCV(g, _mm512_maskz_loadu_epi8(mt, hp + j), _mm512_maskz_loadu_epi8(mt, hp + 256 + j));
  }
  RED1();
  RED2();
  return fold(hi);
}

INL X ghash_core(const uint8_t *h, V az, const uint8_t *p, size_t len) {
  if (len >= 256) {
    V lo, mx, hi, plo = _mm512_setzero_si512(), pmx = az, phi = az; /* pending az: reduces to az */
    for (; len >= 256; len -= 256, p += 256) {
      const uint8_t *ht = h;
      const V g0 = bs(ld(p)), g1 = bs(ld(p + 64)), g2 = bs(ld(p + 128)), g3 = bs(ld(p + 192));
      GHASH16();
    }
    REDP();
  }
  return len ? ghash_tail(h, az, p, len) : fold(az);
}

INL X ld_rev(const uint8_t *p) {
  return _mm_shuffle_epi8(_mm_loadu_si128((const X *)p), rev128());
}
INL void st_rev(uint8_t *p, X v) {
  _mm_storeu_si128((X *)p, _mm_shuffle_epi8(v, rev128()));
}

/* GCTR + GHASH (SP 800-38D sections 6.5, 6.4), encrypt != 0 hashing out;
 * returns the reduced GHASH value. c: the next 4 counter blocks,
 * byte-reversed (the big-endian inc32 counter is dword 0 of each lane, so
 * vpaddd wraps it mod 2^32 apart from the IV bytes); az: the running GHASH
 * value. fin != 0 also hashes the length block lens (reflected) last: with
 * the message end's blocks when they leave room (one reduction), else by
 * itself. */
INL X crypt(const tsr_aesgcm_key *k, V c, V az, uint8_t *out, const uint8_t *in, size_t len, const int encrypt,
            const int fin, X lens) {
  const uint8_t *rk = k->rk, *ht = k->h;
  const unsigned nr = k->rounds;
  int lens_done = !fin;
  V x0, x1, x2, x3, lo, mx, mi, hi;

  if (len >= 256) {
    const unsigned hr = nr / 2;
    V g0, g1, g2, g3, y0, y1, y2, y3, plo = _mm512_setzero_si512(), pmx = az, phi = az; /* reduces to az */
    if (encrypt) { /* batch 0 alone: its ciphertext feeds the pipeline */
      COUNTERS16();
      for (unsigned i = 1; i < nr; i++) AESR(i);
      AESLAST();
      STORE_B(1);
    }
    if (len >= 256) {
      COUNTERS16(); /* batch B: first half of its rounds */
      for (unsigned i = 1; i <= hr; i++) AESR(i);
      while (len >= 512) {
        if (!encrypt) LOAD_G();
        const V r0 = bc(rk); /* batch C: the next 16 counter blocks */
        y0 = _mm512_xor_si512(bs(c), r0);
        c = _mm512_add_epi32(c, step4());
        y1 = _mm512_xor_si512(bs(c), r0);
        c = _mm512_add_epi32(c, step4());
        y2 = _mm512_xor_si512(bs(c), r0);
        c = _mm512_add_epi32(c, step4());
        y3 = _mm512_xor_si512(bs(c), r0);
        c = _mm512_add_epi32(c, step4());
        PIPE_GHASH16();
        STORE_B(encrypt);
        x0 = y0;
        x1 = y1;
        x2 = y2;
        x3 = y3;
      }
      if (!encrypt) LOAD_G();
      FINISH_GHASH16();
      STORE_B(encrypt);
    }
    if (encrypt) GHASH16();
    REDP();
  }

  if (len) {
    /* Up to 4 registers, the last one masked; GHASH as ghash_tail. */
    const size_t padded = (len + 15) & ~(size_t)15, extra = fin && padded < 256 ? 16 : 0;
    const uint8_t *hp = ht + 256 - padded - extra;
    MUL_FIRSTV(az, bc(hp), bc(hp + 256));
    if (extra) { /* lens times H^1 */
      MUL_ACCV(zx(lens), bc(ht + 240), bc(ht + 496));
      lens_done = 1;
    }
    for (size_t j = 0; j < len; j += 64) {
      const __mmask64 m = bytemask(len - j), mt = bytemask(padded - j);
      const V x = aes1(rk, nr, bs(c));
      const V d = _mm512_maskz_loadu_epi8(m, in + j);
      const V o = _mm512_xor_si512(x, d);
      c = _mm512_add_epi32(c, step4());
      _mm512_mask_storeu_epi8(out + j, m, o);
      const V g = bs(encrypt ? _mm512_maskz_mov_epi8(m, o) : d);
      MUL_ACCV(g, _mm512_maskz_loadu_epi8(mt, hp + j), _mm512_maskz_loadu_epi8(mt, hp + 256 + j));
    }
    RED1();
    RED2();
    az = hi;
  }
  X s = fold(az);
  if (!lens_done) {
    MUL_FIRSTV(zx(_mm_xor_si128(s, lens)), bc(ht + 240), bc(ht + 496));
    RED1();
    RED2();
    s = _mm512_castsi512_si128(hi);
  }
  return s;
}

/* enc/dec: the pieces interface (counter and GHASH value in memory). */
INL void crypt_mem(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t accb[16], uint8_t *out, const uint8_t *in,
                   size_t len, const int encrypt) {
  const V c = _mm512_add_epi32(_mm512_broadcast_i32x4(ld_rev(ctr)), lane_offsets());
  st_rev(accb, crypt(k, c, zx(ld_rev(accb)), out, in, len, encrypt, 0, _mm_setzero_si128()));
  tsr_store32_be(ctr + 12, tsr_load32_be(ctr + 12) + (uint32_t)((len + 15) / 16));
}

/* The whole message (impl->aead). J0 = IV || 0^31 || 1 (SP 800-38D
 * section 7.1); E_K(J0) runs on xmm beside the zmm counter blocks from
 * inc32(J0); the AAD is hashed first (independent of the AES work), and the
 * length block joins the message end's reduction. */
INL void aead_msg(const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12], const uint8_t *in, size_t len,
                  const uint8_t *aad, size_t alen, uint8_t tag[16], const int encrypt) {
  const uint8_t *rk = k->rk;
  const unsigned nr = k->rounds;
  const X j0 = _mm_insert_epi8(_mm_maskz_loadu_epi8(0x0fff, iv), 1, 15);
  X e = _mm_xor_si128(j0, _mm_loadu_si128((const X *)rk));
  for (unsigned i = 1; i < nr; i++) e = _mm_aesenc_si128(e, _mm_loadu_si128((const X *)(rk + 16 * i)));
  e = _mm_aesenclast_si128(e, _mm_loadu_si128((const X *)(rk + 16 * nr)));
  const V c1 = _mm512_add_epi32(_mm512_broadcast_i32x4(_mm_shuffle_epi8(j0, rev128())), /* inc32(J0).. */
                                _mm512_add_epi32(lane_offsets(), _mm512_broadcast_i32x4(_mm_set_epi32(0, 0, 0, 1))));
  const V az = zx(ghash_core(k->h, _mm512_setzero_si512(), aad, alen));
  const X lens = _mm_set_epi64x((long long)((uint64_t)alen * 8), (long long)((uint64_t)len * 8));
  const X s = crypt(k, c1, az, out, in, len, encrypt, 1, lens);
  _mm_storeu_si128((X *)tag, _mm_xor_si128(_mm_shuffle_epi8(s, rev128()), e));
}

/* ---------------------------------------------------------------- API */

static void init(tsr_aesgcm_key *k, const uint8_t *key, size_t keylen) {
  tsr_aesgcm_aesni.init(k, key, keylen); /* same key state layout */
}

TGT static void ecb(const tsr_aesgcm_key *k, uint8_t *out, const uint8_t *in, size_t nblocks) {
  const uint8_t *rk = k->rk;
  const unsigned nr = k->rounds;
  size_t len = 16 * nblocks;
  for (; len >= 256; len -= 256, in += 256, out += 256) {
    V x0 = _mm512_xor_si512(ld(in), bc(rk)), x1 = _mm512_xor_si512(ld(in + 64), bc(rk)),
      x2 = _mm512_xor_si512(ld(in + 128), bc(rk)), x3 = _mm512_xor_si512(ld(in + 192), bc(rk));
    for (unsigned i = 1; i < nr; i++) AESR(i);
    AESLAST();
    st(out, x0);
    st(out + 64, x1);
    st(out + 128, x2);
    st(out + 192, x3);
  }
  for (size_t j = 0; j < len; j += 64) {
    const __mmask64 m = bytemask(len - j);
    _mm512_mask_storeu_epi8(out + j, m, aes1(rk, nr, _mm512_maskz_loadu_epi8(m, in + j)));
  }
  CLEAR_ZMM();
}

TGT static void ghash(const tsr_aesgcm_key *k, uint8_t acc[16], const uint8_t *in, size_t len) {
  st_rev(acc, ghash_core(k->h, zx(ld_rev(acc)), in, len));
  CLEAR_ZMM();
}

TGT static void enc(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t acc[16], uint8_t *out, const uint8_t *in,
                    size_t len) {
  crypt_mem(k, ctr, acc, out, in, len, 1);
  CLEAR_ZMM();
}

TGT static void dec(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t acc[16], uint8_t *out, const uint8_t *in,
                    size_t len) {
  crypt_mem(k, ctr, acc, out, in, len, 0);
  CLEAR_ZMM();
}

TGT static void aead(const tsr_aesgcm_key *k, int encrypt, uint8_t *out, const uint8_t iv[12], const uint8_t *in,
                     size_t len, const uint8_t *aad, size_t alen, uint8_t tag[16]) {
  if (encrypt)
    aead_msg(k, out, iv, in, len, aad, alen, tag, 1);
  else
    aead_msg(k, out, iv, in, len, aad, alen, tag, 0);
  CLEAR_ZMM();
}

const tsr_aesgcm_impl tsr_aesgcm_vaes512 = {"vaes512", init, ecb, ghash, enc, dec, aead};

#else
const tsr_aesgcm_impl tsr_aesgcm_vaes512 = {"vaes512", 0, 0, 0, 0, 0, 0};
#endif
