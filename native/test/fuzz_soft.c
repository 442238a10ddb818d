/*
 * libFuzzer differential target: the constant-time software primitives
 * (native/aead/aesgcm/soft, native/aead/chachapoly/soft: the WASM backend's
 * engine) against OpenSSL
 * EVP. Built with -DTSR_FUZZ=ON -DCMAKE_C_COMPILER=clang-19 (CMakeLists.txt).
 *
 * Input: byte 0 picks the primitive, bytes 1..4 are parameters (AAD length,
 * AAD split, bit to flip / output length), then key, nonce, AAD and message
 * bytes in that order (missing key/nonce bytes read as zero). Any difference
 * from OpenSSL is a __builtin_trap().
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../chacha20/tsr_chacha20.h"
#include "../aead/chachapoly/soft/tsr_chachapoly.h"
#include "../aead/aesgcm/soft/tsr_gcm.h"
#include "../hash/tsr_sha256.h"
#include "../util/tsr_util.h"

#define REQUIRE(c)              \
  do {                          \
    if (!(c)) __builtin_trap(); \
  } while (0)

enum { P_AES128GCM, P_AES256GCM, P_CHACHAPOLY, P_XCHACHAPOLY, P_SHA256, P_HMAC, P_HKDF, P_COUNT };

/* A cursor over the fuzz input. */
typedef struct {
  const uint8_t *p;
  size_t n;
} reader;

/* Copies up to n bytes (zero-filling past the end of the input). */
static void take(reader *r, uint8_t *out, size_t n) {
  size_t k = n < r->n ? n : r->n;
  memcpy(out, r->p, k);
  memset(out + k, 0, n - k);
  r->p += k;
  r->n -= k;
}
/* A pointer to up to n bytes of the input itself; *got says how many. */
static const uint8_t *take_ref(reader *r, size_t n, size_t *got) {
  const uint8_t *p = r->p;
  *got = n < r->n ? n : r->n;
  r->p += *got;
  r->n -= *got;
  return p;
}

/* ---- OpenSSL references ---- */

/* Fetched once (OpenSSL 3 looks an algorithm up on every implicit fetch). */
static EVP_CIPHER *evp_aes128gcm, *evp_aes256gcm, *evp_chachapoly, *evp_chacha20;
static EVP_MD *evp_sha256;
static EVP_KDF *evp_hkdf;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  evp_aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
  evp_aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  evp_chachapoly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
  evp_chacha20 = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
  evp_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  evp_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
  REQUIRE(evp_aes128gcm && evp_aes256gcm && evp_chachapoly && evp_chacha20 && evp_sha256 && evp_hkdf);
  return 0;
}

/* AEAD seal/open with EVP (gcm or chacha20-poly1305), 12-byte nonce, 16-byte tag. */
static void evp_seal(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                     size_t aadlen, const uint8_t *pt, size_t ptlen, uint8_t *out) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = c && EVP_EncryptInit_ex(c, cipher, NULL, key, nonce);
  if (ok && aadlen) ok = EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen);
  if (ok && ptlen) ok = EVP_EncryptUpdate(c, out, &n, pt, (int)ptlen);
  if (ok) ok = EVP_EncryptFinal_ex(c, out + ptlen, &n);
  if (ok) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + ptlen);
  EVP_CIPHER_CTX_free(c);
  REQUIRE(ok);
}

static int evp_open(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                    size_t aadlen, const uint8_t *ct, size_t ctlen, const uint8_t *tag, uint8_t *out) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  uint8_t t[16];
  memcpy(t, tag, 16);
  int n = 0, ok = c && EVP_DecryptInit_ex(c, cipher, NULL, key, nonce);
  if (ok && aadlen) ok = EVP_DecryptUpdate(c, NULL, &n, aad, (int)aadlen);
  if (ok && ctlen) ok = EVP_DecryptUpdate(c, out, &n, ct, (int)ctlen);
  if (ok) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, t);
  if (ok) ok = EVP_DecryptFinal_ex(c, out + ctlen, &n) > 0;
  EVP_CIPHER_CTX_free(c);
  return ok ? 0 : -1;
}

/* HChaCha20 from EVP ChaCha20: with the 16-byte nonce as OpenSSL's IV
 * (counter || nonce), the first keystream block is rounds(x) + x, so
 * rounds(x) = block - x (draft-irtf-cfrg-xchacha-03 section 2.2). */
static void evp_hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t n16[16]) {
  static const uint8_t zero[64];
  uint8_t ks[64];
  static const uint32_t sigma[4] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u};
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = c && EVP_EncryptInit_ex(c, evp_chacha20, NULL, key, n16) && EVP_EncryptUpdate(c, ks, &n, zero, 64);
  EVP_CIPHER_CTX_free(c);
  REQUIRE(ok);
  for (int i = 0; i < 4; i++) tsr_store32_le(out + 4 * i, tsr_load32_le(ks + 4 * i) - sigma[i]);
  for (int i = 0; i < 4; i++)
    tsr_store32_le(out + 16 + 4 * i, tsr_load32_le(ks + 48 + 4 * i) - tsr_load32_le(n16 + 4 * i));
}

/* ---- AEADs ---- */

static void soft_seal(int prim, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t split,
                      size_t aadlen, const uint8_t *pt, size_t ptlen, uint8_t *out) {
  if (prim == P_AES128GCM || prim == P_AES256GCM) {
    tsr_gcm_key k;
    tsr_gcm_init(&k, key, prim == P_AES128GCM ? 16 : 32);
    tsr_gcm_seal(&k, out, nonce, pt, ptlen, aad, split, aad + split, aadlen - split);
    tsr_memzero(&k, sizeof k);
  } else {
    tsr_chachapoly_seal(key, out, nonce, pt, ptlen, aad, split, aad + split, aadlen - split);
  }
}

static int soft_open(int prim, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t split,
                     size_t aadlen, const uint8_t *ct, size_t ctlen, const uint8_t *tag, uint8_t *out) {
  if (prim == P_AES128GCM || prim == P_AES256GCM) {
    tsr_gcm_key k;
    tsr_gcm_init(&k, key, prim == P_AES128GCM ? 16 : 32);
    int r = tsr_gcm_open(&k, out, nonce, ct, ctlen, tag, aad, split, aad + split, aadlen - split);
    tsr_memzero(&k, sizeof k);
    return r;
  }
  return tsr_chachapoly_open(key, out, nonce, ct, ctlen, tag, aad, split, aad + split, aadlen - split);
}

static void fuzz_aead(int prim, const uint8_t params[4], reader *r) {
  uint8_t key[32], nonce24[24], subkey[32], nonce12[12];
  const size_t keylen = prim == P_AES128GCM ? 16 : 32;
  take(r, key, keylen);
  take(r, nonce24, prim == P_XCHACHAPOLY ? 24 : 12);
  size_t aadlen, ptlen;
  const uint8_t *aad = take_ref(r, params[0], &aadlen);
  const size_t split = aadlen ? params[1] % (aadlen + 1) : 0;
  const uint8_t *pt = take_ref(r, r->n, &ptlen);

  /* XChaCha20-Poly1305 = ChaCha20-Poly1305 under HChaCha20(key, n[0..16])
   * with the nonce 0^4 || n[16..24] (draft-irtf-cfrg-xchacha-03 section 2.3). */
  const uint8_t *k = key, *nonce = nonce24;
  uint8_t evp_key[32];
  memcpy(evp_key, key, 32);
  if (prim == P_XCHACHAPOLY) {
    tsr_hchacha20(subkey, key, nonce24);
    evp_hchacha20(evp_key, key, nonce24);
    REQUIRE(memcmp(subkey, evp_key, 32) == 0);
    memset(nonce12, 0, 4);
    memcpy(nonce12 + 4, nonce24 + 16, 8);
    k = subkey;
    nonce = nonce12;
  }
  const EVP_CIPHER *cipher = prim == P_AES128GCM ? evp_aes128gcm : prim == P_AES256GCM ? evp_aes256gcm : evp_chachapoly;

  uint8_t *a = malloc(ptlen + 16), *b = malloc(ptlen + 16), *back = malloc(ptlen + 16), *guard = malloc(ptlen + 16);
  REQUIRE(a && b && back && guard);
  /* Seal: identical bytes. */
  soft_seal(prim, k, nonce, aad, split, aadlen, pt, ptlen, a);
  evp_seal(cipher, evp_key, nonce, aad, aadlen, pt, ptlen, b);
  REQUIRE(memcmp(a, b, ptlen + 16) == 0);
  /* Open round trip on both sides. */
  REQUIRE(soft_open(prim, k, nonce, aad, split, aadlen, b, ptlen, b + ptlen, back) == 0);
  REQUIRE(memcmp(back, pt, ptlen) == 0);
  REQUIRE(evp_open(cipher, evp_key, nonce, aad, aadlen, a, ptlen, a + ptlen, back) == 0);
  REQUIRE(memcmp(back, pt, ptlen) == 0);
  /* In place. */
  memcpy(back, pt, ptlen);
  soft_seal(prim, k, nonce, aad, split, aadlen, back, ptlen, back);
  REQUIRE(memcmp(back, b, ptlen + 16) == 0);
  REQUIRE(soft_open(prim, k, nonce, aad, split, aadlen, back, ptlen, back + ptlen, back) == 0);
  REQUIRE(memcmp(back, pt, ptlen) == 0);
  /* One flipped bit of ct || tag: both refuse, and the soft open leaves out untouched. */
  size_t bit = ((size_t)params[2] | (size_t)params[3] << 8) % ((ptlen + 16) * 8);
  a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  memset(guard, 0xa5, ptlen + 16);
  memcpy(back, guard, ptlen + 16);
  REQUIRE(soft_open(prim, k, nonce, aad, split, aadlen, a, ptlen, a + ptlen, back) == -1);
  REQUIRE(memcmp(back, guard, ptlen + 16) == 0);
  REQUIRE(evp_open(cipher, evp_key, nonce, aad, aadlen, a, ptlen, a + ptlen, back) == -1);
  /* ... and a flipped AAD bit too, when there is AAD. */
  if (aadlen) {
    a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    uint8_t *aad2 = malloc(aadlen);
    REQUIRE(aad2);
    memcpy(aad2, aad, aadlen);
    aad2[params[2] % aadlen] ^= (uint8_t)(1u << (params[3] % 8));
    memcpy(back, guard, ptlen + 16);
    REQUIRE(soft_open(prim, k, nonce, aad2, split, aadlen, a, ptlen, a + ptlen, back) == -1);
    REQUIRE(memcmp(back, guard, ptlen + 16) == 0);
    REQUIRE(evp_open(cipher, evp_key, nonce, aad2, aadlen, a, ptlen, a + ptlen, back) == -1);
    free(aad2);
  }
  free(a);
  free(b);
  free(back);
  free(guard);
}

/* ---- hashes ---- */

static void fuzz_sha256(const uint8_t params[4], reader *r) {
  size_t len;
  const uint8_t *msg = take_ref(r, r->n, &len);
  uint8_t x[32], y[32];
  unsigned n = 0;
  REQUIRE(EVP_Digest(msg, len, y, &n, evp_sha256, NULL) && n == 32);
  tsr_sha256(x, msg, len);
  REQUIRE(memcmp(x, y, 32) == 0);
  /* Incremental, in pieces of params[0] + 1 bytes after a first cut at params[1]. */
  tsr_sha256_state s;
  tsr_sha256_init(&s);
  size_t off = params[1] < len ? params[1] : len, step = (size_t)params[0] + 1;
  tsr_sha256_update(&s, msg, off);
  for (; off < len; off += step) tsr_sha256_update(&s, msg + off, len - off < step ? len - off : step);
  tsr_sha256_final(&s, x);
  REQUIRE(memcmp(x, y, 32) == 0);
}

static void fuzz_hmac(const uint8_t params[4], reader *r) {
  size_t klen, mlen;
  const uint8_t *key = take_ref(r, (size_t)params[0] | ((size_t)(params[1] & 1) << 8), &klen);
  const uint8_t *msg = take_ref(r, r->n, &mlen);
  uint8_t x[32], y[32];
  unsigned n = 0;
  REQUIRE(HMAC(evp_sha256, klen ? key : (const uint8_t *)"", (int)klen, msg, mlen, y, &n) && n == 32);
  tsr_hmac_sha256(x, key, klen, msg, mlen);
  REQUIRE(memcmp(x, y, 32) == 0);
  tsr_hmac_sha256_state s;
  tsr_hmac_sha256_init(&s, key, klen);
  size_t cut = params[2] < mlen ? params[2] : mlen;
  tsr_hmac_sha256_update(&s, msg, cut);
  tsr_hmac_sha256_update(&s, msg + cut, mlen - cut);
  tsr_hmac_sha256_final(&s, x);
  REQUIRE(memcmp(x, y, 32) == 0);
}

static void fuzz_hkdf(const uint8_t params[4], reader *r) {
  static uint8_t empty[1];
  size_t saltlen, ikmlen, infolen;
  const uint8_t *salt = take_ref(r, params[0] % 100, &saltlen);
  const uint8_t *ikm = take_ref(r, params[1], &ikmlen);
  const uint8_t *info = take_ref(r, r->n, &infolen);
  /* Mostly 0..511 bytes; with params[3] == 0xff, lengths around the
   * 255 * 32 limit (RFC 5869 section 2.3), past which both must refuse. */
  size_t outlen =
      params[3] == 0xff ? 255 * 32 - 64 + (params[2] & 127) : (size_t)params[2] | (size_t)(params[3] & 1) << 8;
  uint8_t prk[32], *x = malloc(outlen + 1), *y = malloc(outlen + 1);
  REQUIRE(x && y);
  tsr_hkdf_sha256_extract(prk, salt, saltlen, ikm, ikmlen);
  int rs = tsr_hkdf_sha256_expand(x, outlen, prk, 32, info, infolen);

  EVP_KDF_CTX *c = EVP_KDF_CTX_new(evp_hkdf);
  REQUIRE(c);
  OSSL_PARAM p[5], *q = p;
  *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
  *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(ikmlen ? ikm : empty), ikmlen);
  *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(saltlen ? salt : empty), saltlen);
  *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(infolen ? info : empty), infolen);
  *q = OSSL_PARAM_construct_end();
  /* OpenSSL refuses a zero-length output; ours returns 0 and writes nothing. */
  int ro = outlen == 0 ? 0 : (EVP_KDF_derive(c, y, outlen, p) > 0 ? 0 : -1);
  EVP_KDF_CTX_free(c);
  REQUIRE(rs == ro);
  REQUIRE(rs == (outlen <= 255 * 32 ? 0 : -1));
  if (rs == 0) REQUIRE(memcmp(x, y, outlen) == 0);
  free(x);
  free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5) return 0;
  reader r = {data + 5, size - 5};
  const uint8_t *params = data + 1;
  switch (data[0] % P_COUNT) {
    case P_AES128GCM:
    case P_AES256GCM:
    case P_CHACHAPOLY:
    case P_XCHACHAPOLY:
      fuzz_aead(data[0] % P_COUNT, params, &r);
      break;
    case P_SHA256:
      fuzz_sha256(params, &r);
      break;
    case P_HMAC:
      fuzz_hmac(params, &r);
      break;
    default:
      fuzz_hkdf(params, &r);
      break;
  }
  return 0;
}
