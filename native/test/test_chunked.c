/* C tests of the Cobblestone core (native/chunked/tsr_chunked.c, tsr_sha512.c)
 * and its pool runs (native/pool/tsr_chunked_pool.c). SHA-512, HMAC and
 * HKDF-Expand are compared with OpenSSL; the derivation with a Wycheproof
 * vector; every chunk with a one-shot OpenSSL AES-GCM of the same bytes. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdint.h>

#include "../chunked/tsr_chunked.h"
#include "../hash/tsr_sha512.h"
#include "../pool/tsr_chunked_pool.h"
#include "../pool/tsr_pool.h"
#include "tsr_test.h"

static void test_sha512(void) {
  uint8_t in[600], a[64], b[64];
  RAND_bytes(in, sizeof in);
  int ok = 1;
  for (size_t len = 0; len <= sizeof in; len++) {
    tsr_sha512(a, in, len);
    unsigned int l;
    EVP_Digest(in, len, b, &l, EVP_sha512(), NULL);
    ok &= memcmp(a, b, 64) == 0;
  }
  CHECK(ok, "sha512: equals OpenSSL for every length 0..600");
  /* Incremental updates split at every point of a 300-byte input. */
  ok = 1;
  tsr_sha512(b, in, 300);
  for (size_t cut = 0; cut <= 300; cut += 7) {
    tsr_sha512_state s;
    tsr_sha512_init(&s);
    tsr_sha512_update(&s, in, cut);
    tsr_sha512_update(&s, in + cut, 300 - cut);
    tsr_sha512_final(&s, a);
    ok &= memcmp(a, b, 64) == 0;
  }
  CHECK(ok, "sha512: split updates equal one update");
  ok = 1;
  for (size_t klen = 0; klen <= 200; klen += 13) {
    tsr_hmac_sha512_state s;
    tsr_hmac_sha512_init(&s, in + 300, klen);
    tsr_hmac_sha512_update(&s, in, 257);
    tsr_hmac_sha512_final(&s, a);
    unsigned int l;
    HMAC(EVP_sha512(), in + 300, (int)klen, in, 257, b, &l);
    ok &= memcmp(a, b, 64) == 0;
  }
  CHECK(ok, "hmac-sha512: equals OpenSSL for keys of 0..200 bytes (long keys hashed)");
}

static void test_hkdf(void) {
  uint8_t prk[32], info[100], a[300], b[300];
  RAND_bytes(prk, sizeof prk);
  RAND_bytes(info, sizeof info);
  EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
  int ok = kdf != NULL;
  for (size_t outlen = 1; ok && outlen <= sizeof a; outlen += 37) {
    EVP_KDF_CTX *c = EVP_KDF_CTX_new(kdf);
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA512", 0),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, prk, sizeof prk),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof info),
        OSSL_PARAM_construct_end(),
    };
    ok &= EVP_KDF_derive(c, b, outlen, p) == 1;
    /* info split in two, as Cobblestone passes prefix and context */
    ok &= tsr_hkdf_sha512_expand(a, outlen, prk, sizeof prk, info, 40, info + 40, 60) == 0;
    ok &= memcmp(a, b, outlen) == 0;
    EVP_KDF_CTX_free(c);
  }
  EVP_KDF_free(kdf);
  CHECK(ok, "hkdf-sha512-expand: equals OpenSSL EXPAND_ONLY for lengths 1..300");
  CHECK(tsr_hkdf_sha512_expand(a, 255 * 64 + 1, prk, 32, info, 1, NULL, 0) == -1, "hkdf: refuses more than 255 blocks");
}

/* c2sp_chunked_encryption_aes_256_gcm_test.json tcId 1 ("empty message"). */
static void test_derive(void) {
  uint8_t key[32], salt[24], commit[32], aead_key[32], nonce[12];
  tsr_test_unhex(key, "59454c4c4f57205355424d4152494e452059454c4c4f57205355424d4152494e");
  tsr_test_unhex(salt, "43a2e39431cbae0389d3fc86adf46f7c3a24de88d9311617");
  tsr_test_unhex(commit, "e53f3164cc1d5dc738a66b97f0bf786565c31799c2f463d50a7e10046011dc6f");
  tsr_test_unhex(aead_key, "781b72bce3c966fffb09e5d596e1d21b029b21a9599852fb9b9f644e23b86ae8");
  tsr_test_unhex(nonce, "f206a92ac0ba380c8e9e3843");
  tsr_chunked_keys k;
  tsr_chunked_derive(&k, TSR_COBBLESTONE_256, key, salt, NULL, 0);
  CHECK(memcmp(k.key, aead_key, 32) == 0 && memcmp(k.base_nonce, nonce, 12) == 0,
        "derive: Wycheproof tcId 1 key and base nonce");
  CHECK(tsr_chunked_check(&k, commit) == TSR_OK, "derive: Wycheproof tcId 1 commitment");
  commit[31] ^= 1;
  CHECK(tsr_chunked_check(&k, commit) == TSR_ERR_COMMITMENT, "derive: a changed commitment is refused");
  tsr_chunked_keys k2;
  tsr_chunked_derive(&k2, TSR_COBBLESTONE_256, key, salt, (const uint8_t *)"x", 1);
  CHECK(memcmp(k.key, k2.key, 32) != 0, "derive: the context changes the key");
  tsr_chunked_derive(&k2, TSR_COBBLESTONE_128, key, salt, NULL, 0);
  CHECK(memcmp(k.key, k2.key, 16) != 0 && k2.key[16] == 0,
        "derive: Cobblestone-128 names its AEAD and yields 16 key bytes");
}

static void test_lengths(void) {
  uint64_t pt;
  CHECK(tsr_chunked_sealed_len(0) == 16 && tsr_chunked_sealed_len(16383) == 16399 &&
            tsr_chunked_sealed_len(16384) == 16416,
        "lengths: empty, short and full+empty final chunk");
  CHECK(tsr_chunked_opened_len(16, &pt) == TSR_OK && pt == 0, "lengths: 16 bytes is the empty message");
  CHECK(tsr_chunked_opened_len(15, &pt) == TSR_ERR_TRUNCATED, "lengths: under one tag is invalid");
  CHECK(tsr_chunked_opened_len(16400, &pt) == TSR_ERR_TRUNCATED, "lengths: a lone full chunk is truncated");
  CHECK(tsr_chunked_opened_len(16400 + 15, &pt) == TSR_ERR_TRUNCATED, "lengths: a final remainder under 16 is invalid");
  CHECK(tsr_chunked_opened_len(16400 + 16399, &pt) == TSR_OK && pt == 16384 + 16383, "lengths: longest final chunk");
  int ok = 1;
  for (uint64_t n = 0; n < 100000; n += 997)
    ok &= tsr_chunked_opened_len(tsr_chunked_sealed_len(n), &pt) == TSR_OK && pt == n;
  CHECK(ok, "lengths: opened_len inverts sealed_len");
  uint64_t max_ct = (TSR_CHUNKED_MAX_CHUNKS - 1) * TSR_CHUNK_CT + 16;
  CHECK(tsr_chunked_opened_len(max_ct, &pt) == TSR_OK, "lengths: the last chunk index 2^38 - 1 is allowed");
  CHECK(tsr_chunked_opened_len(max_ct + TSR_CHUNK_CT, &pt) == TSR_ERR_LENGTH, "lengths: chunk index 2^38 is refused");
  uint8_t base[12] = {0}, n[12];
  tsr_chunked_nonce(n, base, 0x3fffffffffULL);
  CHECK(n[6] == 0 && n[7] == 0x3f && n[11] == 0xff, "nonce: counter XORed big-endian into the last bytes");
}

/* Chunk k of a stream equals OpenSSL AES-256-GCM of that plaintext slice. */
static int chunk_ok(const uint8_t *key, const uint8_t *base, uint64_t k, const uint8_t *pt, size_t n,
                    const uint8_t *ct) {
  uint8_t nonce[12], out[TSR_CHUNK_CT];
  int l;
  tsr_chunked_nonce(nonce, base, k);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
           EVP_EncryptUpdate(c, out, &l, pt, (int)n) == 1 && EVP_EncryptFinal_ex(c, out + n, &l) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + n) == 1;
  EVP_CIPHER_CTX_free(c);
  return ok && memcmp(out, ct, n + 16) == 0;
}

static int all_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= p[i];
  return acc == 0;
}

static void test_runs(void) {
  static const size_t sizes[] = {0, 1, 16383, 16384, 16385, 32 * 16384, 33 * 16384 + 5, 200 * 16384 + 77};
  uint8_t key[32], base[12];
  RAND_bytes(key, 32);
  RAND_bytes(base, 12);
  tsr_status st;
  tsr_aead_ctx *ctxs[4];
  for (int i = 0; i < 4; i++) ctxs[i] = tsr_aead_ctx_new(TSR_AEAD_AES256GCM, key, &st);
  tsr_pool_set_size(3);
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    size_t n = sizes[s], clen = (size_t)tsr_chunked_sealed_len(n);
    uint8_t *pt = malloc(n + 1), *ct = malloc(clen), *ct2 = malloc(clen), *back = malloc(n + 1);
    RAND_bytes(pt, (int)n + 1);
    char name[160];
    int ok = tsr_chunked_seal(ctxs[0], base, 7, pt, n, 1, ct) == TSR_OK;
    size_t off = 0, left = n;
    for (uint64_t k = 0; ok && k < tsr_chunked_chunks(n); k++) {
      size_t m = left < TSR_CHUNK_PT ? left : TSR_CHUNK_PT;
      if (k + 1 == tsr_chunked_chunks(n)) m = left;
      ok &= chunk_ok(key, base, 7 + k, pt + off, m, ct + k * TSR_CHUNK_CT);
      off += m;
      left -= m;
    }
    snprintf(name, sizeof name, "seal %zu bytes: every chunk equals OpenSSL AES-256-GCM at its nonce", n);
    CHECK(ok, name);
    for (unsigned w = 1; w <= 4; w++) {
      size_t got = 0;
      int same = tsr_chunked_pool_seal(ctxs, w, w == 3, base, 7, pt, n, 1, ct2) == TSR_OK && memcmp(ct, ct2, clen) == 0;
      int opened = tsr_chunked_pool_open(ctxs, w, w == 3, base, 7, ct, clen, 1, back, &got) == TSR_OK && got == n &&
                   memcmp(back, pt, n) == 0;
      snprintf(name, sizeof name, "pool width %u, %zu bytes: same ciphertext, opens", w, n);
      CHECK(same && opened, name);
    }
    /* Tamper with the last byte of each chunk (its tag): every width fails
     * with ERR_AUTH and releases nothing. */
    uint64_t chunks = tsr_chunked_chunks(n);
    int tamper_ok = 1;
    for (uint64_t k = 0; k < chunks; k += (chunks > 8 ? chunks / 5 : 1)) {
      size_t at = (size_t)(k + 1 == chunks ? clen - 1 : (k + 1) * TSR_CHUNK_CT - 1);
      ct[at] ^= 0x40;
      for (unsigned w = 1; w <= 4; w += 3) {
        size_t got = 0;
        memset(back, 0xaa, n + 1);
        tamper_ok &= tsr_chunked_pool_open(ctxs, w, w == 3, base, 7, ct, clen, 1, back, &got) == TSR_ERR_AUTH &&
                     all_zero(back, n);
      }
      ct[at] ^= 0x40;
    }
    snprintf(name, sizeof name, "tamper %zu bytes: ERR_AUTH, output zeroed", n);
    CHECK(tamper_ok, name);
    size_t got;
    CHECK(tsr_chunked_open(ctxs[0], base, 8, ct, clen, 1, back, &got) == TSR_ERR_AUTH,
          "open at the wrong counter fails");
    if (n >= TSR_CHUNK_PT) {
      size_t cut = (n / TSR_CHUNK_PT) * TSR_CHUNK_CT; /* drop the final chunk */
      CHECK(tsr_chunked_pool_open(ctxs, 2, 1, base, 7, ct, cut, 1, back, &got) == TSR_ERR_TRUNCATED,
            "dropping the final chunk is ERR_TRUNCATED");
    }
    free(pt);
    free(ct);
    free(ct2);
    free(back);
  }
  /* Counters near the 2^38 limit. */
  uint8_t one[16400], out[16400 + 16];
  memset(one, 1, sizeof one);
  CHECK(tsr_chunked_seal(ctxs[0], base, TSR_CHUNKED_MAX_CHUNKS - 1, one, 10, 1, out) == TSR_OK,
        "counter 2^38 - 1 seals");
  CHECK(tsr_chunked_seal(ctxs[0], base, TSR_CHUNKED_MAX_CHUNKS - 1, one, 16384, 1, out) == TSR_ERR_LENGTH,
        "a run reaching counter 2^38 is refused");
  CHECK(tsr_chunked_seal(ctxs[0], base, 0, one, 100, 0, out) == TSR_ERR_FORMAT, "non-final runs are whole chunks");
  for (int i = 0; i < 4; i++) tsr_aead_ctx_free(ctxs[i]);
}

/* tsr_pool_run: every task once, participants bounded by width. */
static size_t g_hits[1000];
static unsigned g_max_part;
static void count_task(void *arg, size_t t, unsigned p) {
  (void)arg;
  __atomic_add_fetch(&g_hits[t], 1, __ATOMIC_RELAXED);
  unsigned cur = __atomic_load_n(&g_max_part, __ATOMIC_RELAXED);
  while (p > cur && !__atomic_compare_exchange_n(&g_max_part, &cur, p, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

static void test_pool(void) {
  tsr_pool_set_size(4);
  int ok = 1;
  for (unsigned w = 1; w <= 5; w++) {
    memset(g_hits, 0, sizeof g_hits);
    g_max_part = 0;
    tsr_pool_run(count_task, NULL, 1000, w);
    for (size_t t = 0; t < 1000; t++) ok &= g_hits[t] == 1;
    ok &= g_max_part < w;
    memset(g_hits, 0, sizeof g_hits);
    g_max_part = 0;
    tsr_pool_run_background(count_task, NULL, 1000, w);
    for (size_t t = 0; t < 1000; t++) ok &= g_hits[t] == 1;
    ok &= g_max_part < w;
  }
  CHECK(ok, "pool: every task runs once, in the caller or in the background; participant ids stay below width");
  tsr_pool_set_size(0);
  CHECK(tsr_pool_size() == tsr_pool_cpus(), "pool: size 0 restores the CPU count");
}

int main(void) {
  test_sha512();
  test_hkdf();
  test_derive();
  test_lengths();
  test_runs();
  test_pool();
  return tsr_test_done();
}
