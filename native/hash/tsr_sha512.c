#include "tsr_sha512.h"

#include <string.h>

#include "tsr_md.h"
#include "../util/tsr_util.h"

/* FIPS 180-4 section 4.2.3: the first 64 bits of the fractional parts of the
 * cube roots of the first 80 primes. */
static const uint64_t K[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL, 0x3956c25bf348b538ULL,
    0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL, 0xd807aa98a3030242ULL, 0x12835b0145706fbeULL,
    0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL, 0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL,
    0xc19bf174cf692694ULL, 0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL, 0x983e5152ee66dfabULL,
    0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL, 0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL,
    0x06ca6351e003826fULL, 0x142929670a0e6e70ULL, 0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL,
    0x53380d139d95b3dfULL, 0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL, 0xd192e819d6ef5218ULL,
    0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL, 0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL,
    0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL, 0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL,
    0x682e6ff3d6b2b8a3ULL, 0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL, 0xca273eceea26619cULL,
    0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL, 0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL,
    0x113f9804bef90daeULL, 0x1b710b35131c471bULL, 0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL,
    0x431d67c49c100d4cULL, 0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

static inline uint64_t rotr(uint64_t x, unsigned n) {
  return (x >> n) | (x << (64 - n));
}

/* FIPS 180-4 section 6.4.2, with the message schedule kept in a 16-word ring;
 * hv is the state's h[8] (void * to fit tsr_md_compress). */
static void compress(void *hv, const uint8_t *block) {
  uint64_t *h = hv, w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int t = 0; t < 80; t++) {
    uint64_t wt;
    if (t < 16) {
      wt = w[t] = tsr_load64_be(block + 8 * t);
    } else {
      uint64_t w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
      uint64_t s0 = rotr(w15, 1) ^ rotr(w15, 8) ^ (w15 >> 7);
      uint64_t s1 = rotr(w2, 19) ^ rotr(w2, 61) ^ (w2 >> 6);
      wt = w[t & 15] = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
    }
    uint64_t t1 = hh + (rotr(e, 14) ^ rotr(e, 18) ^ rotr(e, 41)) + ((e & f) ^ (~e & g)) + K[t] + wt;
    uint64_t t2 = (rotr(a, 28) ^ rotr(a, 34) ^ rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
  tsr_memzero(w, sizeof w);
}

void tsr_sha512_init(tsr_sha512_state *s) {
  /* FIPS 180-4 section 5.3.5 */
  static const uint64_t iv[8] = {
      0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
      0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
  };
  memcpy(s->h, iv, sizeof iv);
  s->fill = 0;
  s->total = 0;
}

void tsr_sha512_update(tsr_sha512_state *s, const uint8_t *in, size_t len) {
  tsr_md_update(s->h, s->buf, &s->fill, &s->total, TSR_SHA512_BLOCK, compress, in, len);
}

void tsr_sha512_final(tsr_sha512_state *s, uint8_t out[64]) {
  /* Section 5.1.2: 0x80, zeros, then the 128-bit big-endian bit length. */
  tsr_md_pad(s->h, s->buf, s->fill, s->total, TSR_SHA512_BLOCK, 16, compress);
  for (int i = 0; i < 8; i++) tsr_store64_be(out + 8 * i, s->h[i]);
  tsr_memzero(s, sizeof *s);
}

void tsr_sha512(uint8_t out[64], const uint8_t *in, size_t len) {
  tsr_sha512_state s;
  tsr_sha512_init(&s);
  tsr_sha512_update(&s, in, len);
  tsr_sha512_final(&s, out);
}

void tsr_hmac_sha512_init(tsr_hmac_sha512_state *s, const uint8_t *key, size_t keylen) {
  uint8_t k[TSR_SHA512_BLOCK] = {0}, pad[TSR_SHA512_BLOCK];
  if (keylen > TSR_SHA512_BLOCK)
    tsr_sha512(k, key, keylen); /* RFC 2104 section 2 */
  else if (keylen > 0)
    memcpy(k, key, keylen); /* key may be NULL when empty */
  for (size_t i = 0; i < sizeof pad; i++) pad[i] = k[i] ^ 0x36;
  tsr_sha512_init(&s->inner);
  tsr_sha512_update(&s->inner, pad, sizeof pad);
  for (size_t i = 0; i < sizeof pad; i++) pad[i] = k[i] ^ 0x5c;
  tsr_sha512_init(&s->outer);
  tsr_sha512_update(&s->outer, pad, sizeof pad);
  tsr_memzero(k, sizeof k);
  tsr_memzero(pad, sizeof pad);
}

void tsr_hmac_sha512_update(tsr_hmac_sha512_state *s, const uint8_t *in, size_t len) {
  tsr_sha512_update(&s->inner, in, len);
}

void tsr_hmac_sha512_final(tsr_hmac_sha512_state *s, uint8_t out[64]) {
  uint8_t ih[TSR_SHA512_BYTES];
  tsr_sha512_final(&s->inner, ih);
  tsr_sha512_update(&s->outer, ih, sizeof ih);
  tsr_sha512_final(&s->outer, out);
  tsr_memzero(ih, sizeof ih);
}

/* RFC 5869 section 2.3: T(i) = HMAC(PRK, T(i-1) || info || i). */
int tsr_hkdf_sha512_expand(uint8_t *out, size_t outlen, const uint8_t *prk, size_t prklen, const uint8_t *info1,
                           size_t info1len, const uint8_t *info2, size_t info2len) {
  if (outlen > 255u * TSR_SHA512_BYTES) return -1;
  tsr_hmac_sha512_state base, s;
  uint8_t t[TSR_SHA512_BYTES];
  size_t tlen = 0;
  tsr_hmac_sha512_init(&base, prk, prklen); /* keyed once, copied per block */
  for (uint8_t i = 1; outlen > 0; i++) {
    s = base;
    tsr_hmac_sha512_update(&s, t, tlen);
    tsr_hmac_sha512_update(&s, info1, info1len);
    tsr_hmac_sha512_update(&s, info2, info2len);
    tsr_hmac_sha512_update(&s, &i, 1);
    tsr_hmac_sha512_final(&s, t);
    tlen = sizeof t;
    size_t n = outlen < tlen ? outlen : tlen;
    memcpy(out, t, n);
    out += n;
    outlen -= n;
  }
  tsr_memzero(&base, sizeof base);
  tsr_memzero(t, sizeof t);
  return 0;
}
