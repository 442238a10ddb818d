/*
 * The AEADs on the OpenSSL that the node binary exports: the `openssl` tier
 * of native/aead/tsr_aead.c (the kernel on CPUs without tessera's own, and
 * the tests' oracle). Lengths and arguments are checked by that front.
 *
 * Speed comes from keeping keyed EVP contexts per context: re-initialising
 * with a NULL key only resets the nonce, so AES key expansion (and the GHASH
 * table) is paid once per key, not once per message. Ciphers are fetched once
 * (EVP_CIPHER_fetch) because the legacy EVP_aes_256_gcm() path does an
 * implicit fetch, with a lock, on every init.
 *
 * Extended-nonce algorithms derive a per-message subkey, so their contexts
 * are re-keyed on every message:
 *   XChaCha20-Poly1305: HChaCha20(key, n[0:16]), nonce 0^32 || n[16:24]
 *     (draft-irtf-cfrg-xchacha-03 section 2.3);
 *   XAES-256-GCM: CMAC-based SP 800-108 KDF over n[0:12], nonce n[12:24]
 *     (c2sp.org/XAES-256-GCM, "Detailed key derivation algorithm").
 *
 * Expanded key schedules live inside OpenSSL's EVP_CIPHER_CTX, on OpenSSL's
 * heap, not in tsr_secmem; EVP_CIPHER_CTX_free cleanses them. docs/SECURITY.md
 * says so.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../aead/tsr_aead.h"
#include "../chacha20/tsr_chacha20.h"
#include "../util/tsr_util.h"
#include "../secmem/tsr_secmem.h"
#include "tsr_gcm_split.h"
#include "tsr_aead_openssl.h"
#include "tsr_openssl.h"

struct tsr_aead_openssl {
  tsr_aead_alg alg;
  uint8_t *key;        /* secure memory: key[32], then K1[16] for XAES */
  EVP_CIPHER_CTX *enc; /* keyed once for AES-GCM / ChaCha20-Poly1305 */
  EVP_CIPHER_CTX *dec;
  EVP_CIPHER_CTX *ecb;  /* XAES only: AES-256-ECB under the input key */
  tsr_gcm_split *split; /* large GCM messages on two cores, made on first use */
  int split_keyed;      /* split holds ctx->key (AES-256-GCM only) */
  int serial;           /* tsr_aead_ctx_set_parallel(ctx, 0) */
};

static const EVP_CIPHER *bulk_cipher(tsr_aead_alg alg) {
  if (alg == TSR_AEAD_AES128GCM) return tsr_openssl_fetch()->gcm128;
  const tsr_openssl_ciphers *cs = tsr_openssl_fetch();
  return (alg == TSR_AEAD_AES256GCM || alg == TSR_AEAD_XAES256GCM) ? cs->gcm : cs->chacha;
}

/* The algorithms keyed once per key (96-bit nonces, no per-message subkey). */
static int keyed_directly(tsr_aead_alg alg) {
  return alg == TSR_AEAD_AES256GCM || alg == TSR_AEAD_CHACHA20POLY1305 || alg == TSR_AEAD_AES128GCM;
}

/* XAES-256-GCM steps 1-2: L = AES-256_K(0^128); K1 = dbl(L) in GF(2^128). */
static int xaes_precompute(tsr_aead_openssl *ctx) {
  uint8_t zero[16] = {0}, l[16];
  int outl;
  if (EVP_EncryptInit_ex2(ctx->ecb, tsr_openssl_fetch()->ecb, ctx->key, NULL, NULL) != 1) return 0;
  EVP_CIPHER_CTX_set_padding(ctx->ecb, 0);
  if (EVP_EncryptUpdate(ctx->ecb, l, &outl, zero, 16) != 1) return 0;
  uint8_t *k1 = ctx->key + 32;
  /* Branch-free: the carry mask is derived arithmetically from MSB(L). */
  uint8_t mask = (uint8_t)(0u - (l[0] >> 7));
  for (int i = 0; i < 15; i++) k1[i] = (uint8_t)((l[i] << 1) | (l[i + 1] >> 7));
  k1[15] = (uint8_t)((l[15] << 1) ^ (mask & 0x87));
  tsr_memzero(l, sizeof l);
  return 1;
}

/* XAES-256-GCM steps 3-5: Kx = AES_K(M1 ^ K1) || AES_K(M2 ^ K1). */
static int xaes_derive(tsr_aead_openssl *ctx, uint8_t kx[32], const uint8_t nonce[24]) {
  uint8_t m[32];
  int outl;
  const uint8_t *k1 = ctx->key + 32;
  for (int b = 0; b < 2; b++) {
    uint8_t *mb = m + 16 * b;
    mb[0] = 0x00;
    mb[1] = (uint8_t)(b + 1);
    mb[2] = 0x58;
    mb[3] = 0x00;
    memcpy(mb + 4, nonce, 12);
    for (int i = 0; i < 16; i++) mb[i] ^= k1[i];
  }
  int ok = EVP_EncryptUpdate(ctx->ecb, kx, &outl, m, 32) == 1 && outl == 32;
  tsr_memzero(m, sizeof m);
  return ok;
}

/* Initialises c for one message: sets the nonce and, for the extended-nonce
 * algorithms, the per-message subkey. */
static int begin(tsr_aead_openssl *ctx, EVP_CIPHER_CTX *c, int enc, const uint8_t *nonce) {
  uint8_t sub[32], iv[12];
  int ok;
  switch (ctx->alg) {
    case TSR_AEAD_AES256GCM:
    case TSR_AEAD_CHACHA20POLY1305:
    case TSR_AEAD_AES128GCM:
      return EVP_CipherInit_ex2(c, NULL, NULL, nonce, enc, NULL) == 1;
    case TSR_AEAD_XCHACHA20POLY1305:
      tsr_hchacha20(sub, ctx->key, nonce);
      memset(iv, 0, 4);
      memcpy(iv + 4, nonce + 16, 8);
      ok = EVP_CipherInit_ex2(c, NULL, sub, iv, enc, NULL) == 1;
      break;
    case TSR_AEAD_XAES256GCM:
      ok = xaes_derive(ctx, sub, nonce) && EVP_CipherInit_ex2(c, NULL, sub, nonce + 12, enc, NULL) == 1;
      break;
    default:
      return 0;
  }
  tsr_memzero(sub, sizeof sub);
  return ok;
}

static int feed_aad(EVP_CIPHER_CTX *c, const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2) {
  return (l1 == 0 || tsr_openssl_update(c, NULL, a1, l1)) && (l2 == 0 || tsr_openssl_update(c, NULL, a2, l2));
}

tsr_aead_openssl *tsr_aead_openssl_new(tsr_aead_alg alg, const uint8_t *key, tsr_status *status) {
  const tsr_openssl_ciphers *cs = tsr_openssl_fetch();
  *status = TSR_ERR_INTERNAL;
  if (!tsr_aead_valid(alg) && alg != TSR_AEAD_AES128GCM) {
    *status = TSR_ERR_ALGORITHM;
    return NULL;
  }
  if (!cs->gcm || !cs->gcm128 || !cs->chacha || !cs->ecb) return NULL;
  tsr_aead_openssl *ctx = (tsr_aead_openssl *)calloc(1, sizeof *ctx);
  if (!ctx) {
    *status = TSR_ERR_NOMEM;
    return NULL;
  }
  ctx->alg = alg;
  ctx->key = (uint8_t *)tsr_secmem_alloc(48);
  ctx->enc = EVP_CIPHER_CTX_new();
  ctx->dec = EVP_CIPHER_CTX_new();
  if (alg == TSR_AEAD_XAES256GCM) ctx->ecb = EVP_CIPHER_CTX_new();
  if (!ctx->key || !ctx->enc || !ctx->dec || (alg == TSR_AEAD_XAES256GCM && !ctx->ecb)) {
    *status = TSR_ERR_NOMEM;
    tsr_aead_openssl_free(ctx);
    return NULL;
  }
  *status = tsr_aead_openssl_rekey(ctx, key);
  if (*status != TSR_OK) {
    tsr_aead_openssl_free(ctx);
    return NULL;
  }
  return ctx;
}

tsr_status tsr_aead_openssl_rekey(tsr_aead_openssl *ctx, const uint8_t *key) {
  if (ctx->key != key) memcpy(ctx->key, key, tsr_aead_key_len(ctx->alg));
  ctx->split_keyed = 0;
  const EVP_CIPHER *cipher = bulk_cipher(ctx->alg);
  /* Keyed here for the 96-bit nonce algorithms; the extended ones only bind
   * the cipher and get their subkey per message. */
  const uint8_t *k = keyed_directly(ctx->alg) ? ctx->key : NULL;
  if (EVP_EncryptInit_ex2(ctx->enc, cipher, k, NULL, NULL) != 1 ||
      EVP_DecryptInit_ex2(ctx->dec, cipher, k, NULL, NULL) != 1 ||
      (ctx->alg == TSR_AEAD_XAES256GCM && !xaes_precompute(ctx)))
    return TSR_ERR_INTERNAL;
  return TSR_OK;
}

void tsr_aead_openssl_free(tsr_aead_openssl *ctx) {
  if (!ctx) return;
  tsr_gcm_split_free(ctx->split);
  EVP_CIPHER_CTX_free(ctx->enc); /* cleanses the expanded key */
  EVP_CIPHER_CTX_free(ctx->dec);
  EVP_CIPHER_CTX_free(ctx->ecb);
  tsr_secmem_free(ctx->key); /* zeroizes */
  free(ctx);
}

void tsr_aead_openssl_set_parallel(tsr_aead_openssl *ctx, int parallel) {
  ctx->serial = !parallel;
}
const uint8_t *tsr_aead_openssl_key(const tsr_aead_openssl *ctx) {
  return ctx->key;
}

/* Large AES-GCM / XAES-GCM messages go to tsr_gcm_split (two cores).
 * Returns 1 if it handled the message (*st set), 0 to use the one-thread
 * path (other algorithms, small messages, or no memory for the split). */
static int try_split(tsr_aead_openssl *ctx, int enc, uint8_t *out, const uint8_t *nonce, const uint8_t *in, size_t len,
                     const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2, uint8_t tag[16], tsr_status *st) {
  if (ctx->serial || len < TSR_GCM_SPLIT_MIN || (ctx->alg != TSR_AEAD_AES256GCM && ctx->alg != TSR_AEAD_XAES256GCM))
    return 0;
  if (!ctx->split && !(ctx->split = tsr_gcm_split_new())) return 0;
  if (ctx->alg == TSR_AEAD_AES256GCM) {
    *st = tsr_gcm_split_run(ctx->split, ctx->key, !ctx->split_keyed, enc, out, nonce, in, len, a1, l1, a2, l2, tag);
    ctx->split_keyed = 1;
    return 1;
  }
  uint8_t kx[32]; /* XAES: the per-message subkey, then plain GCM with n[12:24] */
  if (!xaes_derive(ctx, kx, nonce)) {
    *st = TSR_ERR_INTERNAL;
    if (!enc) tsr_memzero(out, len);
    return 1;
  }
  *st = tsr_gcm_split_run(ctx->split, kx, 1, enc, out, nonce + 12, in, len, a1, l1, a2, l2, tag);
  tsr_memzero(kx, sizeof kx);
  return 1;
}

tsr_status tsr_aead_openssl_seal(tsr_aead_openssl *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *pt,
                                 size_t ptlen, const uint8_t *aad1, size_t aad1len, const uint8_t *aad2,
                                 size_t aad2len) {
  uint8_t fin[32];
  int outl;
  tsr_status st;
  if (try_split(ctx, 1, out, nonce, pt, ptlen, aad1, aad1len, aad2, aad2len, out + ptlen, &st)) return st;
  EVP_CIPHER_CTX *c = ctx->enc;
  if (!begin(ctx, c, 1, nonce) || !feed_aad(c, aad1, aad1len, aad2, aad2len) ||
      (ptlen > 0 && !tsr_openssl_update(c, out, pt, ptlen)) || EVP_EncryptFinal_ex(c, fin, &outl) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TSR_AEAD_TAGBYTES, out + ptlen) != 1) {
    tsr_memzero(out, ptlen + TSR_AEAD_TAGBYTES);
    return TSR_ERR_INTERNAL;
  }
  return TSR_OK;
}

tsr_status tsr_aead_openssl_open(tsr_aead_openssl *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *sealed,
                                 size_t sealedlen, const uint8_t *aad1, size_t aad1len, const uint8_t *aad2,
                                 size_t aad2len) {
  uint8_t tag[TSR_AEAD_TAGBYTES], fin[32];
  int outl;
  if (sealedlen < TSR_AEAD_TAGBYTES) return TSR_ERR_FORMAT;
  size_t ctlen = sealedlen - TSR_AEAD_TAGBYTES;
  /* Copy the tag first: with in-place decryption out may alias sealed. */
  memcpy(tag, sealed + ctlen, TSR_AEAD_TAGBYTES);
  tsr_status st;
  if (try_split(ctx, 0, out, nonce, sealed, ctlen, aad1, aad1len, aad2, aad2len, tag, &st)) return st;
  EVP_CIPHER_CTX *c = ctx->dec;
  if (!begin(ctx, c, 0, nonce) || !feed_aad(c, aad1, aad1len, aad2, aad2len) ||
      (ctlen > 0 && !tsr_openssl_update(c, out, sealed, ctlen)) ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TSR_AEAD_TAGBYTES, tag) != 1) {
    if (ctlen > 0) tsr_memzero(out, ctlen);
    return TSR_ERR_INTERNAL;
  }
  /* OpenSSL decrypts before it verifies: wipe the output on a bad tag so no
   * unauthenticated plaintext reaches the caller. */
  if (EVP_DecryptFinal_ex(c, fin, &outl) != 1) {
    if (ctlen > 0) tsr_memzero(out, ctlen);
    return TSR_ERR_AUTH;
  }
  return TSR_OK;
}

tsr_status tsr_random_bytes(uint8_t *buf, size_t n) {
  while (n > 0) {
    int step = (int)(n < TSR_EVP_STEP ? n : TSR_EVP_STEP);
    if (RAND_bytes(buf, step) != 1) return TSR_ERR_INTERNAL;
    buf += step;
    n -= (size_t)step;
  }
  return TSR_OK;
}
