/*
 * C tests of the software SHA-256, HMAC-SHA-256 and HKDF-SHA-256
 * (native/hash/tsr_sha256.c): FIPS 180-4 example messages, RFC 4231 and
 * RFC 5869 test cases, and differential checks against OpenSSL EVP.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdint.h>
#include <stdlib.h>

#include "../hash/tsr_sha256.h"
#include "tsr_test.h"

static void ossl_sha256(uint8_t out[32], const uint8_t *in, size_t len) {
  unsigned n = 0;
  if (!EVP_Digest(in, len, out, &n, EVP_sha256(), NULL) || n != 32) abort();
}

static void ossl_hkdf(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
                      size_t ikmlen, const uint8_t *info, size_t infolen) {
  EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
  EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
  OSSL_PARAM p[5], *q = p;
  static uint8_t empty[1];
  *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
  *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(ikmlen ? ikm : empty), ikmlen);
  *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(saltlen ? salt : empty), saltlen);
  *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(infolen ? info : empty), infolen);
  *q = OSSL_PARAM_construct_end();
  int ok = c && EVP_KDF_derive(c, out, outlen, p) > 0;
  EVP_KDF_CTX_free(c);
  EVP_KDF_free(kdf);
  if (!ok) abort();
}

static void test_sha256(void) {
  uint8_t out[32], want[32];
  tsr_sha256(out, (const uint8_t *)"abc", 3);
  tsr_test_unhex(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(memcmp(out, want, 32) == 0, "SHA-256(\"abc\") (FIPS 180-4 example)");
  tsr_sha256(out, NULL, 0);
  tsr_test_unhex(want, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(memcmp(out, want, 32) == 0, "SHA-256 of the empty string");
  const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  tsr_sha256(out, (const uint8_t *)m448, strlen(m448));
  tsr_test_unhex(want, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(memcmp(out, want, 32) == 0, "SHA-256 of the 448-bit two-block example");

  static uint8_t msg[301];
  int ok = 1;
  for (size_t len = 0; len <= 300; len++) {
    tsr_test_rnd(msg, len);
    tsr_sha256(out, msg, len);
    ossl_sha256(want, msg, len);
    ok &= memcmp(out, want, 32) == 0;
  }
  CHECK(ok, "SHA-256 equals EVP for lengths 0..300");

  const size_t big = 1u << 20;
  uint8_t *p = malloc(big + 1);
  tsr_test_rnd(p, big + 1);
  tsr_sha256(out, p + 1, big);
  ossl_sha256(want, p + 1, big);
  CHECK(memcmp(out, want, 32) == 0, "SHA-256 equals EVP over 1 MiB (unaligned)");

  int inc = 1;
  for (int iter = 0; iter < 200; iter++) {
    size_t len = iter < 100 ? tsr_test_rnd_below(600) : tsr_test_rnd_below(big);
    tsr_sha256_state s;
    tsr_sha256_init(&s);
    for (size_t off = 0; off < len;) {
      size_t step = 1 + tsr_test_rnd_below(iter % 2 ? 150 : (iter < 100 ? 10 : 100000));
      if (step > len - off) step = len - off;
      tsr_sha256_update(&s, p + off, step);
      off += step;
    }
    tsr_sha256_final(&s, out);
    ossl_sha256(want, p, len);
    inc &= memcmp(out, want, 32) == 0;
  }
  CHECK(inc, "SHA-256 incremental updates at random split points equal EVP");
  free(p);
}

static void test_hmac(void) {
  uint8_t key[300], msg[400], out[32], want[32];
  unsigned n = 0;
  /* RFC 4231 test case 2 */
  tsr_hmac_sha256(out, (const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?", 28);
  tsr_test_unhex(want, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(memcmp(out, want, 32) == 0, "HMAC-SHA-256 matches RFC 4231 test case 2");
  /* RFC 4231 test case 6: a 131-byte key (hashed first). */
  memset(key, 0xaa, 131);
  const char *tc6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  tsr_hmac_sha256(out, key, 131, (const uint8_t *)tc6, strlen(tc6));
  tsr_test_unhex(want, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(memcmp(out, want, 32) == 0, "HMAC-SHA-256 matches RFC 4231 test case 6 (key > block)");

  int ok = 1;
  for (size_t klen = 0; klen <= 260; klen++) {
    size_t mlen = tsr_test_rnd_below(400);
    tsr_test_rnd(key, klen);
    tsr_test_rnd(msg, mlen);
    tsr_hmac_sha256(out, key, klen, msg, mlen);
    if (!HMAC(EVP_sha256(), klen ? key : (const uint8_t *)"", (int)klen, msg, mlen, want, &n) || n != 32) abort();
    ok &= memcmp(out, want, 32) == 0;
  }
  CHECK(ok, "HMAC-SHA-256 equals OpenSSL HMAC() for key lengths 0..260");

  int inc = 1;
  for (int iter = 0; iter < 100; iter++) {
    size_t klen = tsr_test_rnd_below(100), mlen = tsr_test_rnd_below(400);
    tsr_test_rnd(key, klen);
    tsr_test_rnd(msg, mlen);
    tsr_hmac_sha256_state s;
    tsr_hmac_sha256_init(&s, key, klen);
    for (size_t off = 0; off < mlen;) {
      size_t step = 1 + tsr_test_rnd_below(70);
      if (step > mlen - off) step = mlen - off;
      tsr_hmac_sha256_update(&s, msg + off, step);
      off += step;
    }
    tsr_hmac_sha256_final(&s, out);
    if (!HMAC(EVP_sha256(), klen ? key : (const uint8_t *)"", (int)klen, msg, mlen, want, &n)) abort();
    inc &= memcmp(out, want, 32) == 0;
  }
  CHECK(inc, "HMAC-SHA-256 incremental updates equal OpenSSL HMAC()");
}

static void test_hkdf(void) {
  /* RFC 5869 appendix A.1-A.3 */
  static const struct {
    const char *ikm, *salt, *info, *prk, *okm;
  } tc[] = {
      {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9",
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
       "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
       "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
       "909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
       "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
       "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
       "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
       "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  for (size_t i = 0; i < 3; i++) {
    uint8_t ikm[80], salt[80], info[80], prk[32], wprk[32], okm[82], wokm[82], ookm[82];
    size_t ikml = strlen(tc[i].ikm) / 2, saltl = strlen(tc[i].salt) / 2, infol = strlen(tc[i].info) / 2,
           okml = strlen(tc[i].okm) / 2;
    tsr_test_unhex(ikm, tc[i].ikm);
    tsr_test_unhex(salt, tc[i].salt);
    tsr_test_unhex(info, tc[i].info);
    tsr_test_unhex(wprk, tc[i].prk);
    tsr_test_unhex(wokm, tc[i].okm);
    tsr_hkdf_sha256_extract(prk, salt, saltl, ikm, ikml);
    int ok = memcmp(prk, wprk, 32) == 0;
    ok &= tsr_hkdf_sha256_expand(okm, okml, prk, 32, info, infol) == 0 && memcmp(okm, wokm, okml) == 0;
    ossl_hkdf(ookm, okml, salt, saltl, ikm, ikml, info, infol);
    ok &= memcmp(ookm, wokm, okml) == 0;
    char name[64];
    snprintf(name, sizeof name, "HKDF-SHA-256 matches RFC 5869 test case %zu (and EVP_KDF)", i + 1);
    CHECK(ok, name);
  }

  static uint8_t out[255 * 32 + 1], want[255 * 32 + 1];
  uint8_t ikm[100], salt[100], info[100], prk[32];
  int ok = 1;
  for (int iter = 0; iter < 300; iter++) {
    size_t ikml = tsr_test_rnd_below(100), saltl = iter % 5 ? tsr_test_rnd_below(100) : 0;
    size_t infol = tsr_test_rnd_below(100);
    size_t outl = iter < 290 ? 1 + tsr_test_rnd_below(300) : 255 * 32 - tsr_test_rnd_below(3);
    tsr_test_rnd(ikm, ikml);
    tsr_test_rnd(salt, saltl);
    tsr_test_rnd(info, infol);
    tsr_hkdf_sha256_extract(prk, salt, saltl, ikm, ikml);
    ok &= tsr_hkdf_sha256_expand(out, outl, prk, 32, info, infol) == 0;
    ossl_hkdf(want, outl, salt, saltl, ikm, ikml, info, infol);
    ok &= memcmp(out, want, outl) == 0;
  }
  CHECK(ok, "HKDF-SHA-256 equals EVP_KDF HKDF for random salt/ikm/info/lengths up to 255*32");
  CHECK(tsr_hkdf_sha256_expand(out, 255 * 32 + 1, prk, 32, info, 10) == -1, "HKDF expand refuses 255*32 + 1 bytes");
  CHECK(tsr_hkdf_sha256_expand(out, 0, prk, 32, info, 10) == 0, "HKDF expand of 0 bytes is fine");
}

int main(void) {
  tsr_test_seed(0x5ba256f00dULL);
  test_sha256();
  test_hmac();
  test_hkdf();
  return tsr_test_done();
}
