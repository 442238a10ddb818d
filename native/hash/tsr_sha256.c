#include "tsr_sha256.h"

#include <string.h>

#include "tsr_md.h"
#include "../util/tsr_util.h"

/* FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static inline uint32_t rotr(uint32_t x, unsigned n) {
  return (x >> n) | (x << (32 - n));
}

/* FIPS 180-4 section 6.2.2, with the message schedule kept in a 16-word ring;
 * hv is the state's h[8] (void * to fit tsr_md_compress). */
static void compress(void *hv, const uint8_t *block) {
  uint32_t *h = hv, w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int t = 0; t < 64; t++) {
    uint32_t wt;
    if (t < 16) {
      wt = w[t] = tsr_load32_be(block + 4 * t);
    } else {
      uint32_t w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
      uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
      uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
      wt = w[t & 15] = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
    }
    uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + wt;
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
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

void tsr_sha256_init(tsr_sha256_state *s) {
  /* FIPS 180-4 section 5.3.3 */
  static const uint32_t iv[8] = {
      0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
  };
  memcpy(s->h, iv, sizeof iv);
  s->fill = 0;
  s->total = 0;
}

void tsr_sha256_update(tsr_sha256_state *s, const uint8_t *in, size_t len) {
  tsr_md_update(s->h, s->buf, &s->fill, &s->total, TSR_SHA256_BLOCK, compress, in, len);
}

void tsr_sha256_final(tsr_sha256_state *s, uint8_t out[32]) {
  /* Section 5.1.1: 0x80, zeros, then the 64-bit big-endian bit length. */
  tsr_md_pad(s->h, s->buf, s->fill, s->total, TSR_SHA256_BLOCK, 8, compress);
  for (int i = 0; i < 8; i++) tsr_store32_be(out + 4 * i, s->h[i]);
  tsr_memzero(s, sizeof *s);
}

void tsr_sha256(uint8_t out[32], const uint8_t *in, size_t len) {
  tsr_sha256_state s;
  tsr_sha256_init(&s);
  tsr_sha256_update(&s, in, len);
  tsr_sha256_final(&s, out);
}

void tsr_hmac_sha256_init(tsr_hmac_sha256_state *s, const uint8_t *key, size_t keylen) {
  uint8_t k[TSR_SHA256_BLOCK] = {0}, pad[TSR_SHA256_BLOCK];
  if (keylen > TSR_SHA256_BLOCK)
    tsr_sha256(k, key, keylen); /* RFC 2104 section 2 */
  else if (keylen > 0)
    memcpy(k, key, keylen);
  for (size_t i = 0; i < sizeof pad; i++) pad[i] = k[i] ^ 0x36;
  tsr_sha256_init(&s->inner);
  tsr_sha256_update(&s->inner, pad, sizeof pad);
  for (size_t i = 0; i < sizeof pad; i++) pad[i] = k[i] ^ 0x5c;
  tsr_sha256_init(&s->outer);
  tsr_sha256_update(&s->outer, pad, sizeof pad);
  tsr_memzero(k, sizeof k);
  tsr_memzero(pad, sizeof pad);
}

void tsr_hmac_sha256_update(tsr_hmac_sha256_state *s, const uint8_t *in, size_t len) {
  tsr_sha256_update(&s->inner, in, len);
}

void tsr_hmac_sha256_final(tsr_hmac_sha256_state *s, uint8_t out[32]) {
  uint8_t ih[TSR_SHA256_BYTES];
  tsr_sha256_final(&s->inner, ih);
  tsr_sha256_update(&s->outer, ih, sizeof ih);
  tsr_sha256_final(&s->outer, out);
  tsr_memzero(ih, sizeof ih);
}

void tsr_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *in, size_t len) {
  tsr_hmac_sha256_state s;
  tsr_hmac_sha256_init(&s, key, keylen);
  tsr_hmac_sha256_update(&s, in, len);
  tsr_hmac_sha256_final(&s, out);
}

/* RFC 5869 section 2.2: PRK = HMAC-Hash(salt, IKM); "if not provided, [salt]
 * is set to a string of HashLen zeros", which HMAC pads to the same key as
 * the empty string. */
void tsr_hkdf_sha256_extract(uint8_t prk[32], const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen) {
  static const uint8_t zeros[TSR_SHA256_BYTES] = {0};
  if (saltlen == 0) {
    salt = zeros;
    saltlen = sizeof zeros;
  }
  tsr_hmac_sha256(prk, salt, saltlen, ikm, ikmlen);
}

/* RFC 5869 section 2.3: T(i) = HMAC(PRK, T(i-1) || info || i). */
int tsr_hkdf_sha256_expand(uint8_t *out, size_t outlen, const uint8_t *prk, size_t prklen, const uint8_t *info,
                           size_t infolen) {
  if (outlen > 255u * TSR_SHA256_BYTES) return -1;
  tsr_hmac_sha256_state base, s;
  uint8_t t[TSR_SHA256_BYTES];
  size_t tlen = 0;
  tsr_hmac_sha256_init(&base, prk, prklen); /* keyed once, copied per block */
  for (uint8_t i = 1; outlen > 0; i++) {
    s = base;
    tsr_hmac_sha256_update(&s, t, tlen);
    tsr_hmac_sha256_update(&s, info, infolen);
    tsr_hmac_sha256_update(&s, &i, 1);
    tsr_hmac_sha256_final(&s, t);
    tlen = sizeof t;
    size_t n = outlen < tlen ? outlen : tlen;
    memcpy(out, t, n);
    out += n;
    outlen -= n;
  }
  tsr_memzero(&base, sizeof base);
  tsr_memzero(&s, sizeof s);
  tsr_memzero(t, sizeof t);
  return 0;
}
