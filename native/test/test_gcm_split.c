/* C tests of the two-core GCM path (native/openssl/tsr_gcm_split.c) and the
 * GF(2^128) arithmetic it rests on (native/aead/aesgcm/tsr_gf128.c): every result
 * is compared with OpenSSL's one-thread AES-256-GCM. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>

#include "../aead/aesgcm/tsr_gf128.h"
#include "../openssl/tsr_gcm_split.h"
#include "tsr_test.h"

static int gcm_ref(int enc, const uint8_t *key, const uint8_t *iv, const uint8_t *in, size_t len, const uint8_t *aad,
                   size_t alen, uint8_t *out, uint8_t tag[16]) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int l, ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) == 1 &&
              (alen == 0 || EVP_CipherUpdate(c, NULL, &l, aad, (int)alen) == 1) &&
              EVP_CipherUpdate(c, out, &l, in, (int)len) == 1;
  if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1;
  ok = ok && EVP_CipherFinal_ex(c, out + len, &l) == 1;
  if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
  EVP_CIPHER_CTX_free(c);
  return ok;
}

static void test_gf128(void) {
  uint8_t b[16];
  RAND_bytes(b, 16);
  tsr_gf128 x = tsr_gf128_load(b), one = {0x8000000000000000ULL, 0};
  RAND_bytes(b, 16);
  tsr_gf128 y = tsr_gf128_load(b);
  tsr_gf128 a = tsr_gf128_mul(x, one), xy = tsr_gf128_mul(x, y), yx = tsr_gf128_mul(y, x);
  CHECK(a.hi == x.hi && a.lo == x.lo, "gf128: x * 1 = x");
  CHECK(xy.hi == yx.hi && xy.lo == yx.lo, "gf128: multiplication commutes");
  tsr_gf128 r = one;
  for (int i = 0; i < 37; i++) r = tsr_gf128_mul(r, x);
  tsr_gf128 p = tsr_gf128_pow(x, 37);
  CHECK(p.hi == r.hi && p.lo == r.lo, "gf128: pow(x, 37) equals 37 multiplications");
  tsr_gf128 p0 = tsr_gf128_pow(x, 0);
  CHECK(p0.hi == one.hi && p0.lo == one.lo, "gf128: pow(x, 0) = 1");
}

static void test_split(void) {
  static const size_t sizes[] = {TSR_GCM_SPLIT_MIN, TSR_GCM_SPLIT_MIN + 1,  TSR_GCM_SPLIT_MIN + 4095, 300007,
                                 (size_t)1 << 20,   ((size_t)1 << 20) + 15, (size_t)3 << 20};
  static const size_t aads[] = {0, 1, 16, 33};
  size_t max = (size_t)3 << 20;
  uint8_t *pt = malloc(max), *ref = malloc(max + 16), *got = malloc(max + 16), *back = malloc(max);
  uint8_t key[32], iv[12], aad[33], rtag[16], gtag[16];
  tsr_gcm_split *s = tsr_gcm_split_new();
  int seal_ok = 1, open_ok = 1, inplace_ok = 1, tamper_ok = 1, rekey_ok = 1;
  RAND_bytes(pt, (int)max);
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    for (size_t j = 0; j < sizeof aads / sizeof *aads; j++) {
      size_t n = sizes[i], al = aads[j];
      RAND_bytes(key, 32);
      RAND_bytes(iv, 12);
      RAND_bytes(aad, sizeof aad);
      gcm_ref(1, key, iv, pt, n, aad, al, ref, rtag);
      /* aad given as two pieces split at an odd place: a1 || a2 */
      size_t cut = al / 3;
      seal_ok &= tsr_gcm_split_run(s, key, 1, 1, got, iv, pt, n, aad, cut, aad + cut, al - cut, gtag) == TSR_OK &&
                 memcmp(got, ref, n) == 0 && memcmp(gtag, rtag, 16) == 0;
      open_ok &= tsr_gcm_split_run(s, key, 0, 0, back, iv, ref, n, aad, al, NULL, 0, rtag) == TSR_OK &&
                 memcmp(back, pt, n) == 0;
      memcpy(got, pt, n);
      inplace_ok &= tsr_gcm_split_run(s, key, 0, 1, got, iv, got, n, aad, al, NULL, 0, gtag) == TSR_OK &&
                    memcmp(got, ref, n) == 0 && memcmp(gtag, rtag, 16) == 0;
      /* a flipped bit in either half, or in the tag, fails and wipes */
      size_t pos[3] = {7, n - 3, n / 2 + 100};
      for (int k = 0; k < 3; k++) {
        ref[pos[k]] ^= 0x10;
        memset(back, 0xAA, n);
        tamper_ok &= tsr_gcm_split_run(s, key, 0, 0, back, iv, ref, n, aad, al, NULL, 0, rtag) == TSR_ERR_AUTH &&
                     back[0] == 0 && back[n - 1] == 0 && back[n / 2] == 0;
        ref[pos[k]] ^= 0x10;
      }
      rtag[15] ^= 1;
      tamper_ok &= tsr_gcm_split_run(s, key, 0, 0, back, iv, ref, n, aad, al, NULL, 0, rtag) == TSR_ERR_AUTH;
      rtag[15] ^= 1;
      if (al) {
        aad[0] ^= 1;
        tamper_ok &= tsr_gcm_split_run(s, key, 0, 0, back, iv, ref, n, aad, al, NULL, 0, rtag) == TSR_ERR_AUTH;
        aad[0] ^= 1;
      }
      key[0] ^= 1; /* rekey = 1 with another key must not verify */
      rekey_ok &= tsr_gcm_split_run(s, key, 1, 0, back, iv, ref, n, aad, al, NULL, 0, rtag) == TSR_ERR_AUTH;
    }
  }
  CHECK(seal_ok, "split seal equals OpenSSL AES-256-GCM (sizes around the threshold, aad split in two)");
  CHECK(open_ok, "split open inverts OpenSSL AES-256-GCM");
  CHECK(inplace_ok, "split seal in place");
  CHECK(tamper_ok, "flipped ciphertext (both halves), tag or aad: ERR_AUTH and the output wiped");
  CHECK(rekey_ok, "rekey with a different key refuses the message");
  tsr_gcm_split_free(s);
  free(pt), free(ref), free(got), free(back);
}

int main(void) {
  test_gf128();
  test_split();
  return tsr_test_done();
}
