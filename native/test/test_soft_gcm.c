/* C tests of the constant-time software AES-GCM (native/aead/aesgcm/soft/tsr_aes.c,
 * tsr_ghash.c, tsr_gcm.c): the bitsliced S-box against one computed here by
 * GF(2^8) inversion + the affine map (FIPS 197 section 5.1.1), FIPS 197
 * appendix C vectors, and differential tests against OpenSSL's libcrypto
 * (ECB, CTR, GCM), GHASH against SP 800-38D Algorithm 1, in-place use,
 * split associated data, counter wrap and tamper handling. */
#include <stdint.h>

#include <openssl/evp.h>

#include "../aead/aesgcm/soft/tsr_aes.h"
#include "../aead/aesgcm/soft/tsr_gcm.h"
#include "../aead/aesgcm/soft/tsr_ghash.h"
#include "../util/tsr_util.h"
#include "tsr_test.h"

/* CHECK with a name formatted from the key size. */
#define CHECK_KL(cond, kl, fmt)                          \
  do {                                                   \
    char name_[128];                                     \
    snprintf(name_, sizeof name_, fmt, (int)(8 * (kl))); \
    CHECK(cond, name_);                                  \
  } while (0)

/* ---------------------------------------------------------------- AES */

static uint8_t gf_mul8(uint8_t a, uint8_t b) { /* FIPS 197 section 4.2 */
  uint8_t r = 0;
  for (int i = 0; i < 8; i++, b >>= 1) {
    if (b & 1) r ^= a;
    a = (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1b : 0));
  }
  return r;
}

static void test_sbox(void) {
  uint8_t in[256], out[256];
  for (int i = 0; i < 256; i++) in[i] = (uint8_t)i;
  tsr_aes_sbox_bytes(out, in, 256);
  int bad = 0;
  for (int x = 0; x < 256; x++) {
    uint8_t inv = 0; /* multiplicative inverse, 0 -> 0 */
    for (int y = 1; y < 256 && x; y++)
      if (gf_mul8((uint8_t)x, (uint8_t)y) == 1) inv = (uint8_t)y;
    uint8_t s = 0x63; /* b'_i = b_i + b_{i+4} + b_{i+5} + b_{i+6} + b_{i+7} + c_i */
    for (int r = 0; r < 5; r++) s ^= (uint8_t)((inv << r) | (inv >> ((8 - r) & 7)));
    if (out[x] != s) bad++;
  }
  CHECK(bad == 0, "bitsliced S-box equals inversion + affine map on all 256 inputs");
  CHECK(out[0x00] == 0x63 && out[0x53] == 0xed && out[0xff] == 0x16, "S-box spot values (FIPS 197 figure 7)");
}

static void test_fips197(void) {
  uint8_t key[32], pt[16], ct[16], want[16];
  tsr_aes_key k;
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
  tsr_test_unhex(pt, "00112233445566778899aabbccddeeff");
  tsr_aes_init(&k, key, 16);
  tsr_aes_encrypt_blocks(&k, ct, pt, 1);
  tsr_test_unhex(want, "69c4e0d86a7b0430d8cdb78070b4c55a");
  CHECK(memcmp(ct, want, 16) == 0, "FIPS 197 appendix C.1 AES-128");
  tsr_aes_init(&k, key, 32);
  tsr_aes_encrypt_blocks(&k, ct, pt, 1);
  tsr_test_unhex(want, "8ea2b7ca516745bfeafc49904b496089");
  CHECK(memcmp(ct, want, 16) == 0, "FIPS 197 appendix C.3 AES-256");
  tsr_test_unhex(key, "2b7e151628aed2a6abf7158809cf4f3c");
  tsr_test_unhex(pt, "3243f6a8885a308d313198a2e0370734");
  tsr_aes_init(&k, key, 16);
  tsr_aes_encrypt_blocks(&k, pt, pt, 1);
  tsr_test_unhex(want, "3925841d02dc09fbdc118597196a0b32");
  CHECK(memcmp(pt, want, 16) == 0, "FIPS 197 appendix B example, in place");
}

static const EVP_CIPHER *ecb(size_t kl) {
  return kl == 32 ? EVP_aes_256_ecb() : EVP_aes_128_ecb();
}

static void ossl(const EVP_CIPHER *c, const uint8_t *key, const uint8_t *iv, uint8_t *out, const uint8_t *in,
                 size_t len) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(x, c, NULL, key, iv);
  EVP_CIPHER_CTX_set_padding(x, 0);
  if (len) EVP_EncryptUpdate(x, out, &n, in, (int)len);
  EVP_EncryptFinal_ex(x, out + n, &n);
  EVP_CIPHER_CTX_free(x);
}

static void test_ecb(void) {
  static uint8_t in[41 * 16 + 1], got[41 * 16 + 1], want[41 * 16];
  for (size_t kl = 16; kl <= 32; kl += 16) {
    int ok = 1, inplace = 1;
    for (size_t n = 0; n <= 40; n++) {
      uint8_t key[32];
      tsr_aes_key k;
      tsr_test_rnd(key, kl);
      tsr_test_rnd(in, sizeof in);
      tsr_aes_init(&k, key, kl);
      ossl(ecb(kl), key, NULL, want, in + 1, 16 * n);
      memset(got, 0xAA, sizeof got);
      tsr_aes_encrypt_blocks(&k, got + 1, in + 1, n); /* unaligned */
      ok &= memcmp(got + 1, want, 16 * n) == 0 && got[1 + 16 * n] == 0xAA && got[0] == 0xAA;
      tsr_aes_encrypt_blocks(&k, in + 1, in + 1, n);
      inplace &= memcmp(in + 1, want, 16 * n) == 0;
    }
    CHECK_KL(ok, kl, "AES-%d ECB equals OpenSSL, 0..40 blocks, unaligned");
    CHECK_KL(inplace, kl, "AES-%d ECB in place");
  }
}

/* ---------------------------------------------------------------- CTR */

static void test_ctr(void) {
  const size_t big[] = {4096, 65536 + 7, (1u << 20) + 13};
  uint8_t *in = malloc((1u << 20) + 64), *got = malloc((1u << 20) + 64), *want = malloc((1u << 20) + 64);
  for (size_t kl = 16; kl <= 32; kl += 16) {
    int ok = 1, inplace = 1, tail = 1;
    for (size_t t = 0; t < 301 + 3; t++) {
      size_t len = t < 301 ? t : big[t - 301];
      uint8_t key[32], iv[16];
      tsr_aes_key k;
      tsr_test_rnd(key, kl);
      tsr_test_rnd(iv, 16);
      /* OpenSSL's CTR carries into byte 11: keep the 32-bit counter clear of a wrap. */
      uint32_t ctr = (uint32_t)tsr_test_rng64() & 0x7fffffffu;
      tsr_store32_be(iv + 12, ctr);
      size_t a = t % 8, b = (t / 8) % 8; /* misaligned input and output */
      tsr_test_rnd(in + a, len);
      tsr_aes_init(&k, key, kl);
      ossl(kl == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr(), key, iv, want, in + a, len);
      memset(got, 0x5C, len + 16);
      tsr_aes_ctr32(&k, got + b, in + a, len, iv, ctr);
      ok &= memcmp(got + b, want, len) == 0;
      tail &= got[b + len] == 0x5C && (b == 0 || got[b - 1] == 0x5C);
      tsr_aes_ctr32(&k, in + a, in + a, len, iv, ctr);
      inplace &= memcmp(in + a, want, len) == 0;
    }
    CHECK_KL(ok, kl, "AES-%d CTR equals OpenSSL, lengths 0..300, 4 KiB, 64 KiB+7, 1 MiB+13");
    CHECK_KL(inplace, kl, "AES-%d CTR in place");
    CHECK_KL(tail, kl, "AES-%d CTR writes exactly len bytes");
  }
  /* inc32 wraps mod 2^32 and leaves bytes 0..11 alone (SP 800-38D 6.2):
   * reference keystream from ECB on counter blocks built here. */
  int wrap = 1;
  for (size_t kl = 16; kl <= 32; kl += 16) {
    for (uint32_t start = 0xFFFFFFF0u; start != 0x00000004u; start++) {
      uint8_t key[32], iv[12], blocks[40 * 16], ks[40 * 16], data[40 * 16 - 5], out[40 * 16];
      tsr_aes_key k;
      tsr_test_rnd(key, kl);
      tsr_test_rnd(iv, 12);
      tsr_test_rnd(data, sizeof data);
      for (uint32_t i = 0; i < 40; i++) {
        memcpy(blocks + 16 * i, iv, 12);
        tsr_store32_be(blocks + 16 * i + 12, start + i);
      }
      ossl(ecb(kl), key, NULL, ks, blocks, sizeof blocks);
      tsr_aes_init(&k, key, kl);
      tsr_aes_ctr32(&k, out, data, sizeof data, iv, start);
      for (size_t i = 0; i < sizeof data; i++) wrap &= out[i] == (uint8_t)(data[i] ^ ks[i]);
    }
  }
  CHECK(wrap, "CTR counter wraps mod 2^32 (starts 0xfffffff0..0x3, both key sizes)");
  free(in);
  free(got);
  free(want);
}

/* -------------------------------------------------------------- GHASH */

/* SP 800-38D section 6.3 Algorithm 1, bit by bit. */
static void ref_gmul(uint8_t x[16], const uint8_t y[16]) {
  uint8_t z[16] = {0}, v[16];
  memcpy(v, y, 16);
  for (int i = 0; i < 128; i++) {
    if ((x[i / 8] >> (7 - i % 8)) & 1)
      for (int j = 0; j < 16; j++) z[j] ^= v[j];
    int lsb = v[15] & 1;
    for (int j = 15; j > 0; j--) v[j] = (uint8_t)((v[j] >> 1) | (v[j - 1] << 7));
    v[0] >>= 1;
    if (lsb) v[0] ^= 0xE1;
  }
  memcpy(x, z, 16);
}

static void test_ghash(void) {
  static uint8_t data[16 * 70];
  int ok = 1, split = 1;
  for (int trial = 0; trial < 40; trial++) {
    uint8_t h[16], y[16] = {0}, got[16];
    tsr_ghash_key k;
    tsr_ghash_state s;
    tsr_test_rnd(h, 16);
    if (trial == 0) memset(h, 0xFF, 16);
    if (trial == 1)
      memset(data, 0xFF, sizeof data);
    else
      tsr_test_rnd(data, sizeof data);
    size_t nb = (size_t)trial * 7 % 70;
    tsr_ghash_init_key(&k, h);
    for (size_t b = 0; b < nb; b++) {
      for (int j = 0; j < 16; j++) y[j] ^= data[16 * b + j];
      ref_gmul(y, h);
    }
    tsr_ghash_start(&s);
    tsr_ghash_update(&s, &k, data, 16 * nb);
    tsr_ghash_final(&s, got);
    ok &= memcmp(got, y, 16) == 0;
    /* Any split of the input into update calls gives the same value. */
    tsr_ghash_start(&s);
    for (size_t off = 0; off < 16 * nb;) {
      size_t m = 1 + (size_t)(tsr_test_rng64() % 40);
      if (m > 16 * nb - off) m = 16 * nb - off;
      tsr_ghash_update(&s, &k, data + off, m);
      off += m;
    }
    tsr_ghash_final(&s, got);
    split &= memcmp(got, y, 16) == 0;
  }
  CHECK(ok, "GHASH equals SP 800-38D Algorithm 1 for 0..69 blocks (incl. all-ones H and data)");
  CHECK(split, "GHASH independent of how updates split the input");
  uint8_t h[16], y[16] = {0}, got[16], part[5];
  tsr_ghash_key k;
  tsr_ghash_state s;
  tsr_test_rnd(h, 16);
  tsr_test_rnd(part, 5);
  tsr_ghash_init_key(&k, h);
  memcpy(y, part, 5);
  ref_gmul(y, h);
  tsr_ghash_start(&s);
  tsr_ghash_update(&s, &k, part, 5);
  tsr_ghash_pad(&s, &k);
  tsr_ghash_pad(&s, &k); /* nothing waiting: no-op */
  tsr_ghash_final(&s, got);
  CHECK(memcmp(got, y, 16) == 0, "GHASH pad zero-fills a partial block");
}

/* ---------------------------------------------------------------- GCM */

static void ossl_gcm_seal(size_t kl, const uint8_t *key, const uint8_t *nonce, uint8_t *out, const uint8_t *pt,
                          size_t len, const uint8_t *aad, size_t aadlen) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(x, kl == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), NULL, key, nonce);
  if (aadlen) EVP_EncryptUpdate(x, NULL, &n, aad, (int)aadlen);
  if (len) EVP_EncryptUpdate(x, out, &n, pt, (int)len);
  EVP_EncryptFinal_ex(x, out + len, &n);
  EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, out + len);
  EVP_CIPHER_CTX_free(x);
}

static void test_gcm_kat(void) {
  /* The GCM specification's test case 16 (AES-256, 60-byte P, 20-byte A). */
  uint8_t key[32], iv[12], pt[60], aad[20], want[76], out[76], back[60];
  tsr_gcm_key k;
  tsr_test_unhex(key, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  tsr_test_unhex(iv, "cafebabefacedbaddecaf888");
  tsr_test_unhex(pt,
                 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  tsr_test_unhex(aad, "feedfacedeadbeeffeedfacedeadbeefabaddad2");
  tsr_test_unhex(want,
                 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                 "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                 "76fc6ece0f4e1768cddf8853bb2d551b");
  tsr_gcm_init(&k, key, 32);
  tsr_gcm_seal(&k, out, iv, pt, 60, aad, 7, aad + 7, 13);
  CHECK(memcmp(out, want, 76) == 0, "GCM test case 16 (AES-256), aad split 7 + 13");
  CHECK(tsr_gcm_open(&k, back, iv, out, 60, out + 60, aad, 20, NULL, 0) == 0 && memcmp(back, pt, 60) == 0,
        "GCM test case 16 opens");
  tsr_memzero(&k, sizeof k);
}

static void test_gcm(void) {
  const size_t maxlen = (1u << 20) + 3;
  uint8_t *pt = malloc(maxlen + 32), *want = malloc(maxlen + 48), *got = malloc(maxlen + 48),
          *back = malloc(maxlen + 32), *buf = malloc(maxlen + 48);
  uint8_t aad[100], key[32], nonce[12];
  for (size_t kl = 16; kl <= 32; kl += 16) {
    int seal_ok = 1, open_ok = 1, inplace = 1, splits = 1, tamper = 1, untouched = 1;
    for (size_t t = 0; t < 301 + 3; t++) {
      const size_t big[] = {4096 + 5, 65536, maxlen};
      size_t len = t < 301 ? t : big[t - 301];
      size_t aadlen = t < 301 ? (t * 13) % 100 : 33;
      tsr_gcm_key k;
      tsr_test_rnd(key, kl);
      tsr_test_rnd(nonce, 12);
      tsr_test_rnd(pt, len);
      tsr_test_rnd(aad, aadlen);
      tsr_gcm_init(&k, key, kl);
      ossl_gcm_seal(kl, key, nonce, want, pt, len, aad, aadlen);
      size_t cut = aadlen ? (size_t)(tsr_test_rng64() % (aadlen + 1)) : 0;
      tsr_gcm_seal(&k, got + 1, nonce, pt, len, aad, cut, aad + cut, aadlen - cut); /* unaligned out */
      seal_ok &= memcmp(got + 1, want, len + 16) == 0;
      /* Every split of the associated data between aad1 and aad2, for some lengths. */
      if (t % 37 == 0 || t == 17 || t == 300)
        for (size_t c = 0; c <= aadlen; c++) {
          tsr_gcm_seal(&k, got, nonce, pt, len, c ? aad : NULL, c, aad + c, aadlen - c);
          splits &= memcmp(got, want, len + 16) == 0;
        }
      memset(back, 0x33, len + 1);
      open_ok &= tsr_gcm_open(&k, back, nonce, want, len, want + len, aad, aadlen, NULL, 0) == 0 &&
                 memcmp(back, pt, len) == 0 && back[len] == 0x33;
      /* In place, both directions. */
      memcpy(buf, pt, len);
      tsr_gcm_seal(&k, buf, nonce, buf, len, NULL, 0, aad, aadlen);
      inplace &= memcmp(buf, want, len + 16) == 0;
      inplace &=
          tsr_gcm_open(&k, buf, nonce, buf, len, buf + len, aad, aadlen, NULL, 0) == 0 && memcmp(buf, pt, len) == 0;
      /* Tampering: every tag bit (small lengths), some ciphertext and aad bits. */
      if (t < 40 || t >= 301) {
        memcpy(buf, want, len + 16);
        for (int bit = 0; bit < 128; bit += (t < 40 ? 1 : 9)) {
          buf[len + bit / 8] ^= (uint8_t)(1 << (bit % 8));
          memset(back, 0x77, len + 1);
          tamper &= tsr_gcm_open(&k, back, nonce, buf, len, buf + len, aad, aadlen, NULL, 0) == -1;
          for (size_t i = 0; i <= len; i++) untouched &= back[i] == 0x77;
          /* in place: the ciphertext must stay as it was */
          tamper &= tsr_gcm_open(&k, buf, nonce, buf, len, buf + len, aad, aadlen, NULL, 0) == -1;
          buf[len + bit / 8] ^= (uint8_t)(1 << (bit % 8));
          untouched &= memcmp(buf, want, len + 16) == 0;
        }
        for (int i = 0; i < 8 && len; i++) {
          size_t pos = (size_t)(tsr_test_rng64() % len);
          uint8_t m = (uint8_t)(1 << (tsr_test_rng64() % 8));
          buf[pos] ^= m;
          memset(back, 0x77, len);
          tamper &= tsr_gcm_open(&k, back, nonce, buf, len, buf + len, aad, aadlen, NULL, 0) == -1;
          for (size_t j = 0; j < len; j++) untouched &= back[j] == 0x77;
          buf[pos] ^= m;
        }
        if (aadlen) {
          aad[aadlen - 1] ^= 1;
          tamper &= tsr_gcm_open(&k, back, nonce, buf, len, buf + len, aad, aadlen, NULL, 0) == -1;
          aad[aadlen - 1] ^= 1;
        }
        nonce[11] ^= 0x80;
        tamper &= tsr_gcm_open(&k, back, nonce, buf, len, buf + len, aad, aadlen, NULL, 0) == -1;
        nonce[11] ^= 0x80;
      }
      tsr_memzero(&k, sizeof k);
    }
    CHECK_KL(seal_ok, kl, "AES-%d-GCM seal equals OpenSSL, pt 0..300 + 4 KiB+5, 64 KiB, 1 MiB+3");
    CHECK_KL(splits, kl, "AES-%d-GCM: aad split at every position gives the same output");
    CHECK_KL(open_ok, kl, "AES-%d-GCM open of OpenSSL output");
    CHECK_KL(inplace, kl, "AES-%d-GCM seal and open in place");
    CHECK_KL(tamper, kl, "AES-%d-GCM: flipped tag / ct / aad / nonce bits -> -1");
    CHECK_KL(untouched, kl, "AES-%d-GCM: failed open leaves out untouched");
  }
  free(pt);
  free(want);
  free(got);
  free(back);
  free(buf);
}

int main(void) {
  tsr_test_seed(0x243F6A8885A308D3ull);
  test_sbox();
  test_fips197();
  test_ecb();
  test_ctr();
  test_ghash();
  test_gcm_kat();
  test_gcm();
  return tsr_test_done();
}
