/* Constant time: additions, fixed 64x64->128 multiplies and shifts only; no branch or index on secret data. */
/*
 * Poly1305 (RFC 8439 section 2.5) on 64-bit words: the accumulator h in
 * radix 2^64 (h0 + h1 2^64 + h2 2^128, h2 a few bits) and r = r0 + r1 2^64,
 * with 64x64->128 multiplies (unsigned __int128). Used on its own for short
 * inputs and, for the partial blocks and short updates, by the vector tiers
 * (poly1305_avx2.c, poly1305_ifma.c), which share the state layout below.
 *
 * Reduction uses 2^130 = 5 (mod p): since the clamp clears the low two bits
 * of r1, h1 r1 2^128 = h1 (r1 / 4) 2^130 = h1 * s1 with s1 = 5 (r1 / 4) =
 * r1 + (r1 >> 2) (D. J. Bernstein, "The Poly1305-AES message-authentication
 * code", section 2, and the radix 2^64 form of OpenSSL's poly1305.c).
 */
#include <string.h>

#include "../../util/tsr_util.h"
#include "poly1305_state.h"
#include "tsr_chachapoly_kern.h"

typedef unsigned __int128 u128;

/* Absorbs n 16-byte blocks, each with the 2^128 bit times hibit (0 or 1). */
static void blocks(uint64_t *w, const uint8_t *in, size_t n, uint64_t hibit) {
  uint64_t h0 = w[PH], h1 = w[PH + 1], h2 = w[PH + 2];
  const uint64_t r0 = w[PR], r1 = w[PR + 1], s1 = r1 + (r1 >> 2);
  for (; n > 0; n--, in += 16) {
    /* h += m (section 2.5.1: the block with its extra high bit) */
    u128 t = (u128)h0 + tsr_load64_le(in);
    h0 = (uint64_t)t;
    t = (u128)h1 + tsr_load64_le(in + 8) + (uint64_t)(t >> 64);
    h1 = (uint64_t)t;
    h2 += hibit + (uint64_t)(t >> 64);
    /* h *= r (mod p), partially reduced */
    u128 d0 = (u128)h0 * r0 + (u128)h1 * s1;
    u128 d1 = (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s1;
    uint64_t d2 = h2 * r0; /* h2 < 8, r0 < 2^60 */
    d1 += (uint64_t)(d0 >> 64);
    d2 += (uint64_t)(d1 >> 64);
    h0 = (uint64_t)d0;
    h1 = (uint64_t)d1;
    /* bits from 2^130 up, times 5, fold back into h */
    uint64_t c = (d2 >> 2) + (d2 & ~(uint64_t)3);
    h2 = d2 & 3;
    t = (u128)h0 + c;
    h0 = (uint64_t)t;
    t = (u128)h1 + (uint64_t)(t >> 64);
    h1 = (uint64_t)t;
    h2 += (uint64_t)(t >> 64);
  }
  w[PH] = h0;
  w[PH + 1] = h1;
  w[PH + 2] = h2;
}

static void init(tsr_poly1305_kstate *s, const uint8_t key[32]) {
  uint64_t *w = s->w;
  memset(w, 0, 16 * sizeof w[0]); /* the tier tables past w[16] are (re)built on use */
  /* section 2.5.1: clamp r with 0x0ffffffc0ffffffc0ffffffc0fffffff */
  w[PR] = tsr_load64_le(key) & 0x0ffffffc0fffffffull;
  w[PR + 1] = tsr_load64_le(key + 8) & 0x0ffffffc0ffffffcull;
  w[PS] = tsr_load64_le(key + 16);
  w[PS + 1] = tsr_load64_le(key + 24);
}

static void update(tsr_poly1305_kstate *s, const uint8_t *in, size_t len) {
  uint64_t *w = s->w;
  uint8_t *buf = (uint8_t *)&w[PBUF];
  size_t fill = (size_t)w[PFILL];
  if (len == 0) return; /* in may be NULL */
  if (fill) {
    size_t take = 16 - fill < len ? 16 - fill : len;
    memcpy(buf + fill, in, take);
    fill += take;
    in += take;
    len -= take;
    if (fill < 16) {
      w[PFILL] = fill;
      return;
    }
    blocks(w, buf, 1, 1);
  }
  if (len >= 16) {
    blocks(w, in, len / 16, 1);
    in += len & ~(size_t)15;
    len &= 15;
  }
  memcpy(buf, in, len);
  w[PFILL] = len;
}

static void pad16(tsr_poly1305_kstate *s) {
  /* RFC 8439 section 2.8: the zero padding is MAC input, a full block. */
  uint64_t *w = s->w;
  size_t fill = (size_t)w[PFILL];
  if (fill == 0) return;
  memset((uint8_t *)&w[PBUF] + fill, 0, 16 - fill);
  blocks(w, (const uint8_t *)&w[PBUF], 1, 1);
  w[PFILL] = 0;
}

static void final(tsr_poly1305_kstate *s, uint8_t tag[16]) {
  uint64_t *w = s->w;
  size_t fill = (size_t)w[PFILL];
  if (fill) {
    /* section 2.5.1: a short last block gets a 1 byte, zeros, no 2^128 bit */
    uint8_t *buf = (uint8_t *)&w[PBUF];
    buf[fill] = 1;
    memset(buf + fill + 1, 0, 15 - fill);
    blocks(w, buf, 1, 0);
  }
  uint64_t h0 = w[PH], h1 = w[PH + 1], h2 = w[PH + 2];
  /* h < 2^131 here; g = h + 5 - 2^130 is non-negative exactly when h >= p
   * (for h < 2p): select g by mask then (Bernstein, section 2). First fold
   * the bits above 2^130 so that h < 2^130 + 5 * 2. */
  uint64_t c = (h2 >> 2) * 5;
  h2 &= 3;
  u128 t = (u128)h0 + c;
  h0 = (uint64_t)t;
  t = (u128)h1 + (uint64_t)(t >> 64);
  h1 = (uint64_t)t;
  h2 += (uint64_t)(t >> 64);
  t = (u128)h0 + 5;
  uint64_t g0 = (uint64_t)t;
  t = (u128)h1 + (uint64_t)(t >> 64);
  uint64_t g1 = (uint64_t)t;
  uint64_t g2 = h2 + (uint64_t)(t >> 64);
  uint64_t mask = 0 - (g2 >> 2); /* all ones when h + 5 >= 2^130 */
  h0 = (h0 & ~mask) | (g0 & mask);
  h1 = (h1 & ~mask) | (g1 & mask);
  /* tag = (h + s) mod 2^128 */
  t = (u128)h0 + w[PS];
  tsr_store64_le(tag, (uint64_t)t);
  t = (u128)h1 + w[PS + 1] + (uint64_t)(t >> 64);
  tsr_store64_le(tag + 8, (uint64_t)t);
  tsr_memzero(s, sizeof *s);
}

const tsr_poly1305_impl tsr_poly1305_scalar64 = {"scalar64", init, update, pad16, final};
