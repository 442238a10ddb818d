/*
 * C tests of the software ChaCha20, Poly1305 and ChaCha20-Poly1305
 * (native/chacha20/tsr_chacha20.c, tsr_poly1305.c, tsr_chachapoly.c):
 * RFC 8439 test vectors (sections 2.4.2, 2.5.2, 2.8.2, appendix A.3),
 * draft-irtf-cfrg-xchacha-03 appendix A.3.1, and differential checks against
 * OpenSSL's EVP ChaCha20, chacha20-poly1305 and EVP_MAC POLY1305.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#include "../chacha20/tsr_chacha20.h"
#include "../aead/chachapoly/soft/tsr_chachapoly.h"
#include "../aead/chachapoly/soft/tsr_poly1305.h"
#include "../util/tsr_util.h"
#include "tsr_test.h"

/* --- OpenSSL references --- */
static void ossl_chacha20(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32], const uint8_t nonce[12],
                          uint32_t counter) {
  /* OpenSSL's "ChaCha20" IV is the 32-bit little-endian counter || the 96-bit nonce. */
  uint8_t iv[16];
  tsr_store32_le(iv, counter);
  memcpy(iv + 4, nonce, 12);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = EVP_EncryptInit_ex(c, EVP_chacha20(), NULL, key, iv);
  size_t done = 0;
  while (ok && done < len) { /* EVP lengths are int */
    size_t step = len - done > (1u << 30) ? (1u << 30) : len - done;
    ok = EVP_EncryptUpdate(c, out + done, &n, in + done, (int)step);
    done += step;
  }
  EVP_CIPHER_CTX_free(c);
  if (!ok) abort();
}

static void ossl_seal(uint8_t *out, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *pt, size_t ptlen,
                      const uint8_t *aad, size_t aadlen) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce);
  if (ok && aadlen) ok = EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen);
  if (ok && ptlen) ok = EVP_EncryptUpdate(c, out, &n, pt, (int)ptlen);
  if (ok) ok = EVP_EncryptFinal_ex(c, out + ptlen, &n);
  if (ok) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + ptlen);
  EVP_CIPHER_CTX_free(c);
  if (!ok) abort();
}

static void ossl_poly1305(uint8_t tag[16], const uint8_t key[32], const uint8_t *msg, size_t len) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
  EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
  size_t n = 0;
  int ok = c && EVP_MAC_init(c, key, 32, NULL) && EVP_MAC_update(c, msg, len) && EVP_MAC_final(c, tag, &n, 16);
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(mac);
  if (!ok || n != 16) abort();
}

static void soft_poly1305(uint8_t tag[16], const uint8_t key[32], const uint8_t *msg, size_t len) {
  tsr_poly1305_state s;
  tsr_poly1305_init(&s, key);
  tsr_poly1305_update(&s, msg, len);
  tsr_poly1305_final(&s, tag);
}

static const char SUNSCREEN[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be "
    "it.";

/* --- RFC vectors --- */
static void test_vectors(void) {
  uint8_t key[32], nonce[24], out[256], want[256], tag[16], aad[12];
  const size_t n = sizeof SUNSCREEN - 1; /* 114 */

  /* RFC 8439 section 2.4.2 */
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
  tsr_test_unhex(nonce, "000000000000004a00000000");
  tsr_test_unhex(want,
                 "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b357"
                 "1639d624e65152ab8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
                 "5af90bbf74a35be6b40b8eedf2785e42874d");
  tsr_chacha20_xor(out, (const uint8_t *)SUNSCREEN, n, key, nonce, 1);
  CHECK(memcmp(out, want, n) == 0, "ChaCha20 matches RFC 8439 section 2.4.2");

  /* RFC 8439 section 2.5.2 */
  tsr_test_unhex(key, "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
  tsr_test_unhex(want, "a8061dc1305136c6c22b8baf0c0127a9");
  soft_poly1305(tag, key, (const uint8_t *)"Cryptographic Forum Research Group", 34);
  CHECK(memcmp(tag, want, 16) == 0, "Poly1305 matches RFC 8439 section 2.5.2");

  /* RFC 8439 appendix A.3 #5..#9: r and s chosen so h lands around p = 2^130 - 5. */
  static const char *a3[][3] = {
      {"02000000000000000000000000000000"
       "00000000000000000000000000000000",
       "ffffffffffffffffffffffffffffffff", "03000000000000000000000000000000"},
      {"02000000000000000000000000000000"
       "ffffffffffffffffffffffffffffffff",
       "02000000000000000000000000000000", "03000000000000000000000000000000"},
      {"01000000000000000000000000000000"
       "00000000000000000000000000000000",
       "ffffffffffffffffffffffffffffffff"
       "f0ffffffffffffffffffffffffffffff"
       "11000000000000000000000000000000",
       "05000000000000000000000000000000"},
      {"01000000000000000000000000000000"
       "00000000000000000000000000000000",
       "ffffffffffffffffffffffffffffffff"
       "fbfefefefefefefefefefefefefefefe"
       "01010101010101010101010101010101",
       "00000000000000000000000000000000"},
      {"02000000000000000000000000000000"
       "00000000000000000000000000000000",
       "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff"},
  };
  int ok = 1;
  for (size_t i = 0; i < sizeof a3 / sizeof a3[0]; i++) {
    uint8_t msg[48], t2[16];
    size_t mlen = strlen(a3[i][1]) / 2;
    tsr_test_unhex(key, a3[i][0]);
    tsr_test_unhex(msg, a3[i][1]);
    tsr_test_unhex(want, a3[i][2]);
    soft_poly1305(tag, key, msg, mlen);
    ossl_poly1305(t2, key, msg, mlen);
    ok &= memcmp(tag, want, 16) == 0 && memcmp(t2, want, 16) == 0;
  }
  CHECK(ok, "Poly1305 matches RFC 8439 appendix A.3 #5-#9 (final reduction edge cases)");

  /* RFC 8439 section 2.8.2 */
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)(0x80 + i);
  tsr_test_unhex(nonce, "070000004041424344454647");
  tsr_test_unhex(aad, "50515253c0c1c2c3c4c5c6c7");
  tsr_test_unhex(want,
                 "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
                 "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                 "3ff4def08e4b7a9de576d26586cec64b6116"
                 "1ae10b594f09e26a7e902ecbd0600691");
  tsr_chachapoly_seal(key, out, nonce, (const uint8_t *)SUNSCREEN, n, aad, 12, NULL, 0);
  CHECK(memcmp(out, want, n + 16) == 0, "ChaCha20-Poly1305 seal matches RFC 8439 section 2.8.2");
  tsr_chachapoly_seal(key, out, nonce, (const uint8_t *)SUNSCREEN, n, aad, 5, aad + 5, 7);
  CHECK(memcmp(out, want, n + 16) == 0, "seal with the AAD split 5 + 7 gives the same bytes");
  uint8_t pt[128];
  CHECK(tsr_chachapoly_open(key, pt, nonce, want, n, want + n, aad, 12, NULL, 0) == 0 && memcmp(pt, SUNSCREEN, n) == 0,
        "ChaCha20-Poly1305 open of RFC 8439 section 2.8.2");

  /* draft-irtf-cfrg-xchacha-03 appendix A.3.1: subkey = HChaCha20(key, nonce[0..16]),
   * then ChaCha20-Poly1305 with nonce 0^4 || nonce[16..24]. */
  for (int i = 0; i < 24; i++) nonce[i] = (uint8_t)(0x40 + i);
  tsr_test_unhex(want,
                 "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39"
                 "ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
                 "21f9664c97637da9768812f615c68b13b52e"
                 "c0875924c1c7987947deafd8780acf49");
  uint8_t sub[32], n12[12] = {0};
  tsr_hchacha20(sub, key, nonce);
  memcpy(n12 + 4, nonce + 16, 8);
  tsr_chachapoly_seal(sub, out, n12, (const uint8_t *)SUNSCREEN, n, aad, 12, NULL, 0);
  CHECK(memcmp(out, want, n + 16) == 0, "XChaCha20-Poly1305 matches draft-irtf-cfrg-xchacha-03 A.3.1");
  CHECK(tsr_chachapoly_open(sub, pt, n12, want, n, want + n, aad, 12, NULL, 0) == 0 && memcmp(pt, SUNSCREEN, n) == 0,
        "XChaCha20-Poly1305 open of A.3.1");
}

/* --- ChaCha20 vs EVP ChaCha20 --- */
static void test_chacha20_diff(void) {
  enum { MAX = 600 + 3 };
  static uint8_t in[MAX + 8], a[MAX + 8], b[MAX + 8];
  uint8_t key[32], nonce[12];
  int ok = 1, inplace = 1;
  for (size_t len = 0; len <= 600; len++) {
    tsr_test_rnd(key, 32);
    tsr_test_rnd(nonce, 12);
    uint32_t ctr = (uint32_t)tsr_test_rng64() & 0xffffu;
    size_t oi = tsr_test_rnd_below(4), oo = tsr_test_rnd_below(4); /* unaligned pointers */
    tsr_test_rnd(in + oi, len);
    tsr_chacha20_xor(a + oo, in + oi, len, key, nonce, ctr);
    ossl_chacha20(b, in + oi, len, key, nonce, ctr);
    ok &= memcmp(a + oo, b, len) == 0;
    memcpy(a + 1, in + oi, len);
    tsr_chacha20_xor(a + 1, a + 1, len, key, nonce, ctr);
    inplace &= memcmp(a + 1, b, len) == 0;
  }
  CHECK(ok, "ChaCha20 equals EVP ChaCha20 for lengths 0..600, random counters, unaligned");
  CHECK(inplace, "ChaCha20 in place equals EVP ChaCha20 for lengths 0..600");

  const size_t big = (1u << 20) + 7;
  uint8_t *x = malloc(big + 1), *y = malloc(big), *z = malloc(big);
  tsr_test_rnd(key, 32);
  tsr_test_rnd(nonce, 12);
  tsr_test_rnd(x + 1, big);
  tsr_chacha20_xor(y, x + 1, big, key, nonce, 0xffffbfffu); /* the last block uses counter 2^32 - 1 */
  ossl_chacha20(z, x + 1, big, key, nonce, 0xffffbfffu);
  CHECK(memcmp(y, z, big) == 0, "ChaCha20 equals EVP over 1 MiB + 7 bytes");
  free(x);
  free(y);
  free(z);
}

/* --- Poly1305 vs EVP_MAC POLY1305 --- */
static void test_poly1305_diff(void) {
  static uint8_t msg[1100];
  uint8_t key[32], t1[16], t2[16];
  int ok = 1;
  for (size_t len = 0; len <= 1040; len++) {
    tsr_test_rnd(key, 32);
    tsr_test_rnd(msg, len);
    soft_poly1305(t1, key, msg, len);
    ossl_poly1305(t2, key, msg, len);
    ok &= memcmp(t1, t2, 16) == 0;
  }
  CHECK(ok, "Poly1305 equals EVP_MAC POLY1305 for random inputs, lengths 0..1040");

  /* Saturated keys and blocks: with r and s all ones (after clamping) and
   * 0xff message bytes the accumulator runs at its limb bounds and the final
   * h >= p selection and s addition carry through every word. */
  int edge = 1;
  for (size_t len = 0; len <= 300; len++) {
    for (int v = 0; v < 4; v++) {
      memset(key, 0xff, 32);
      memset(msg, 0xff, len);
      if (v == 1) memset(key + 16, 0, 16); /* s = 0 */
      if (v == 2)
        for (size_t i = 0; i < len; i += 16) msg[i] = 0xfa; /* limbs near p */
      if (v == 3) {
        tsr_test_rnd(key, 16);
        for (size_t i = 0; i < len; i++) msg[i] = (tsr_test_rng64() & 1) ? 0xff : 0x00;
      }
      soft_poly1305(t1, key, msg, len);
      ossl_poly1305(t2, key, msg, len);
      edge &= memcmp(t1, t2, 16) == 0;
    }
  }
  CHECK(edge, "Poly1305 equals EVP_MAC for all-0xff keys/blocks (final reduction edges)");

  /* Incremental updates at random split points give the one-shot tag. */
  int inc = 1;
  for (int iter = 0; iter < 300; iter++) {
    size_t len = tsr_test_rnd_below(1100);
    tsr_test_rnd(key, 32);
    tsr_test_rnd(msg, len);
    tsr_poly1305_state s;
    tsr_poly1305_init(&s, key);
    size_t off = 0;
    while (off < len) {
      size_t step = 1 + tsr_test_rnd_below(iter % 2 ? 200 : 20);
      if (step > len - off) step = len - off;
      tsr_poly1305_update(&s, msg + off, step);
      off += step;
    }
    tsr_poly1305_final(&s, t1);
    ossl_poly1305(t2, key, msg, len);
    inc &= memcmp(t1, t2, 16) == 0;
  }
  CHECK(inc, "Poly1305 incremental updates at random split points equal the one-shot tag");
}

/* --- AEAD vs EVP chacha20-poly1305 --- */
static int seal_matches(size_t ptlen, size_t aadlen, size_t split, int unaligned) {
  static uint8_t pt[9000 + 4], aad[80 + 4], a[9000 + 24], b[9000 + 24], back[9000 + 24];
  uint8_t key[32], nonce[12];
  size_t op = unaligned ? 1 + tsr_test_rnd_below(3) : 0, oo = unaligned ? 1 + tsr_test_rnd_below(3) : 0;
  tsr_test_rnd(key, 32);
  tsr_test_rnd(nonce, 12);
  tsr_test_rnd(pt + op, ptlen);
  tsr_test_rnd(aad + 1, aadlen);
  tsr_chachapoly_seal(key, a + oo, nonce, pt + op, ptlen, aad + 1, split, aad + 1 + split, aadlen - split);
  ossl_seal(b, key, nonce, pt + op, ptlen, aad + 1, aadlen);
  int ok = memcmp(a + oo, b, ptlen + 16) == 0;
  memset(back, 0xa5, ptlen + 4);
  ok &= tsr_chachapoly_open(key, back + op, nonce, a + oo, ptlen, a + oo + ptlen, aad + 1, split, aad + 1 + split,
                            aadlen - split) == 0;
  ok &= memcmp(back + op, pt + op, ptlen) == 0;
  /* In place: seal over the plaintext, open over the ciphertext. */
  memcpy(back, pt + op, ptlen);
  tsr_chachapoly_seal(key, back, nonce, back, ptlen, aad + 1, aadlen, NULL, 0);
  ok &= memcmp(back, b, ptlen + 16) == 0;
  ok &= tsr_chachapoly_open(key, back, nonce, back, ptlen, back + ptlen, NULL, 0, aad + 1, aadlen) == 0;
  ok &= memcmp(back, pt + op, ptlen) == 0;
  return ok;
}

static void test_aead_diff(void) {
  int ok = 1;
  for (size_t len = 0; len <= 600; len++) {
    size_t aadlen = tsr_test_rnd_below(41);
    ok &= seal_matches(len, aadlen, tsr_test_rnd_below(aadlen + 1), (int)(len & 1));
  }
  CHECK(ok, "seal/open equal EVP chacha20-poly1305 for lengths 0..600 (random AAD, unaligned, in place)");

  static const size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097, 8191, 8192, 8999};
  int split = 1;
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
    for (size_t aadlen = 0; aadlen <= 70; aadlen += 7)
      for (size_t s = 0; s <= aadlen; s++) split &= seal_matches(lens[i], aadlen, s, (int)(s & 1));
  CHECK(split, "aad1 || aad2 split at every position equals EVP with the whole AAD");

  const size_t big = 1u << 20;
  uint8_t *pt = malloc(big + 1), *a = malloc(big + 17), *b = malloc(big + 16), key[32], nonce[12], aad[33];
  tsr_test_rnd(key, 32);
  tsr_test_rnd(nonce, 12);
  tsr_test_rnd(aad, 33);
  tsr_test_rnd(pt + 1, big);
  tsr_chachapoly_seal(key, a + 1, nonce, pt + 1, big, aad, 20, aad + 20, 13);
  ossl_seal(b, key, nonce, pt + 1, big, aad, 33);
  CHECK(memcmp(a + 1, b, big + 16) == 0, "seal equals EVP over 1 MiB");
  CHECK(tsr_chachapoly_open(key, a + 1, nonce, a + 1, big, a + 1 + big, aad, 33, NULL, 0) == 0 &&
            memcmp(a + 1, pt + 1, big) == 0,
        "open in place over 1 MiB");
  free(pt);
  free(a);
  free(b);
}

/* --- tampering: -1 and out untouched --- */
static void test_tamper(void) {
  enum { PT = 100, AAD = 20 };
  uint8_t key[32], nonce[12], pt[PT], aad[AAD], sealed[PT + 16], out[PT], guard[PT];
  tsr_test_rnd(key, 32);
  tsr_test_rnd(nonce, 12);
  tsr_test_rnd(pt, PT);
  tsr_test_rnd(aad, AAD);
  tsr_chachapoly_seal(key, sealed, nonce, pt, PT, aad, AAD, NULL, 0);
  memset(guard, 0x5a, PT);

  int tagbits = 1;
  for (int bit = 0; bit < 128; bit++) {
    memcpy(out, guard, PT);
    sealed[PT + bit / 8] ^= (uint8_t)(1 << (bit % 8));
    tagbits &= tsr_chachapoly_open(key, out, nonce, sealed, PT, sealed + PT, aad, AAD, NULL, 0) == -1;
    tagbits &= memcmp(out, guard, PT) == 0;
    sealed[PT + bit / 8] ^= (uint8_t)(1 << (bit % 8));
  }
  CHECK(tagbits, "every flipped tag bit: open returns -1, out untouched");

  int ctbits = 1;
  for (int i = 0; i < PT; i++) {
    memcpy(out, guard, PT);
    sealed[i] ^= (uint8_t)(1 << (i % 8));
    ctbits &= tsr_chachapoly_open(key, out, nonce, sealed, PT, sealed + PT, aad, AAD, NULL, 0) == -1;
    ctbits &= memcmp(out, guard, PT) == 0;
    sealed[i] ^= (uint8_t)(1 << (i % 8));
  }
  CHECK(ctbits, "a flipped ciphertext bit in every byte: -1, out untouched");

  int aadbits = 1;
  for (int i = 0; i < AAD; i++) {
    memcpy(out, guard, PT);
    aad[i] ^= (uint8_t)(0x80 >> (i % 8));
    aadbits &= tsr_chachapoly_open(key, out, nonce, sealed, PT, sealed + PT, aad, 7, aad + 7, AAD - 7) == -1;
    aadbits &= memcmp(out, guard, PT) == 0;
    aad[i] ^= (uint8_t)(0x80 >> (i % 8));
  }
  CHECK(aadbits, "a flipped AAD bit in every byte: -1, out untouched");

  uint8_t k2[32], n2[12];
  memcpy(k2, key, 32);
  memcpy(n2, nonce, 12);
  k2[31] ^= 1;
  n2[0] ^= 0x40;
  memcpy(out, guard, PT);
  int other = tsr_chachapoly_open(k2, out, nonce, sealed, PT, sealed + PT, aad, AAD, NULL, 0) == -1 &&
              tsr_chachapoly_open(key, out, n2, sealed, PT, sealed + PT, aad, AAD, NULL, 0) == -1 &&
              tsr_chachapoly_open(key, out, nonce, sealed, PT - 1, sealed + PT, aad, AAD, NULL, 0) == -1 &&
              tsr_chachapoly_open(key, out, nonce, sealed, PT, sealed + PT, aad, AAD - 1, NULL, 0) == -1 &&
              memcmp(out, guard, PT) == 0;
  CHECK(other, "wrong key, nonce, truncated ct or AAD: -1, out untouched");

  /* In place with a bad tag: the ciphertext stays as it was. */
  uint8_t copy[PT + 16];
  memcpy(copy, sealed, sizeof copy);
  copy[PT] ^= 1;
  CHECK(tsr_chachapoly_open(key, copy, nonce, copy, PT, copy + PT, aad, AAD, NULL, 0) == -1 &&
            memcmp(copy, sealed, PT) == 0,
        "in-place open with a bad tag leaves the ciphertext untouched");
  CHECK(
      tsr_chachapoly_open(key, out, nonce, sealed, PT, sealed + PT, aad, AAD, NULL, 0) == 0 && memcmp(out, pt, PT) == 0,
      "the untampered message still opens");
}

int main(void) {
  tsr_test_seed(0x7e55e7a2024ULL);
  test_vectors();
  test_chacha20_diff();
  test_poly1305_diff();
  test_aead_diff();
  test_tamper();
  return tsr_test_done();
}
