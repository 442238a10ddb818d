/*
 * tsr_aead on the core's own constant-time primitives:
 * the AEAD engine of the WASM module, side by side with native/openssl.
 *
 *   AES-256-GCM, AES-128-GCM   tsr_gcm (bitsliced AES, CT GHASH), SP 800-38D
 *   ChaCha20-Poly1305          tsr_chachapoly, RFC 8439 section 2.8
 *   XChaCha20-Poly1305         HChaCha20(key, n[0:16]), nonce 0^32 || n[16:24]
 *                              (draft-irtf-cfrg-xchacha-03 section 2.3)
 *   XAES-256-GCM               Kx = AES_K(M1 ^ K1) || AES_K(M2 ^ K1), then
 *                              AES-256-GCM(Kx, n[12:24]) (c2sp.org/XAES-256-GCM)
 *
 * The whole context (key, key schedules, per-message subkeys) is one
 * tsr_secmem block: in the WASM module that is the dedicated key region of
 * linear memory (native/wasm/tsr_wasm_mem.c), zeroized on free.
 */
#include <string.h>

#include "../tsr_aead.h"
#include "../../chacha20/tsr_chacha20.h"
#include "../chachapoly/soft/tsr_chachapoly.h"
#include "../aesgcm/soft/tsr_gcm.h"
#include "../../util/tsr_util.h"
#include "../../secmem/tsr_secmem.h"

struct tsr_aead_ctx {
  tsr_aead_alg alg;
  uint8_t key[32];
  tsr_gcm_key gcm; /* AES-GCM: under key; XAES: under the message's Kx */
  tsr_aes_key aes; /* XAES: AES-256 under key, for the derivation */
  uint8_t k1[16];  /* XAES: K1 = dbl(AES_K(0^128)) */
  uint8_t sub[32]; /* XAES Kx / XChaCha20 subkey of the current message */
};

/* SP 800-38D section 5.2.1.1: plaintext at most 2^39 - 256 bits. */
#define TSR_GCM_MAX    (((uint64_t)1 << 36) - 32)
/* RFC 8439 section 2.8: at most (2^32 - 1) 64-byte blocks after block 0. */
#define TSR_CHACHA_MAX ((((uint64_t)1 << 32) - 1) * 64)

static int is_gcm(tsr_aead_alg alg) {
  return alg == TSR_AEAD_AES256GCM || alg == TSR_AEAD_AES128GCM || alg == TSR_AEAD_XAES256GCM;
}

/* XAES-256-GCM steps 1-2: L = AES-256_K(0^128); K1 = L << 1, XOR 0x87 into
 * the last byte when L's top bit was set (selected by mask, not a branch). */
static void xaes_precompute(tsr_aead_ctx *ctx) {
  uint8_t l[16] = {0};
  tsr_aes_init(&ctx->aes, ctx->key, 32);
  tsr_aes_encrypt_blocks(&ctx->aes, l, l, 1);
  uint8_t msb_mask = (uint8_t)(0u - (l[0] >> 7));
  for (int i = 0; i < 15; i++) ctx->k1[i] = (uint8_t)((l[i] << 1) | (l[i + 1] >> 7));
  ctx->k1[15] = (uint8_t)((l[15] << 1) ^ (0x87 & msb_mask));
  tsr_memzero(l, sizeof l);
}

/* XAES-256-GCM steps 3-5, then the per-message GCM key (H under Kx). */
static void xaes_derive(tsr_aead_ctx *ctx, const uint8_t nonce[24]) {
  uint8_t m[32];
  for (int j = 0; j < 2; j++) {
    uint8_t *b = m + 16 * j;
    b[0] = 0x00;
    b[1] = (uint8_t)(j + 1);
    b[2] = 0x58; /* "X" */
    b[3] = 0x00;
    memcpy(b + 4, nonce, 12);
    for (int i = 0; i < 16; i++) b[i] ^= ctx->k1[i];
  }
  tsr_aes_encrypt_blocks(&ctx->aes, ctx->sub, m, 2);
  tsr_gcm_init(&ctx->gcm, ctx->sub, 32);
  tsr_memzero(m, sizeof m);
}

static void wipe_message_keys(tsr_aead_ctx *ctx) {
  tsr_memzero(ctx->sub, sizeof ctx->sub);
  if (ctx->alg == TSR_AEAD_XAES256GCM) tsr_memzero(&ctx->gcm, sizeof ctx->gcm);
}

static void set_key(tsr_aead_ctx *ctx, const uint8_t *key) {
  size_t kl = tsr_aead_key_len(ctx->alg);
  memcpy(ctx->key, key, kl);
  if (ctx->alg == TSR_AEAD_AES256GCM || ctx->alg == TSR_AEAD_AES128GCM) tsr_gcm_init(&ctx->gcm, ctx->key, kl);
  if (ctx->alg == TSR_AEAD_XAES256GCM) xaes_precompute(ctx);
}

tsr_aead_ctx *tsr_aead_ctx_new(tsr_aead_alg alg, const uint8_t *key, tsr_status *status) {
  if (!tsr_aead_valid(alg) && alg != TSR_AEAD_AES128GCM) {
    *status = TSR_ERR_ALGORITHM;
    return NULL;
  }
  tsr_aead_ctx *ctx = tsr_secmem_alloc(sizeof *ctx);
  if (!ctx) {
    *status = TSR_ERR_NOMEM;
    return NULL;
  }
  ctx->alg = alg;
  set_key(ctx, key);
  *status = TSR_OK;
  return ctx;
}

void tsr_aead_ctx_free(tsr_aead_ctx *ctx) {
  tsr_secmem_free(ctx); /* zeroizes */
}

tsr_status tsr_aead_ctx_rekey(tsr_aead_ctx *ctx, const uint8_t *key) {
  set_key(ctx, key);
  return TSR_OK;
}

tsr_aead_alg tsr_aead_ctx_alg(const tsr_aead_ctx *ctx) {
  return ctx->alg;
}
void tsr_aead_ctx_set_parallel(tsr_aead_ctx *ctx, int parallel) {
  (void)ctx;
  (void)parallel;
}
const uint8_t *tsr_aead_ctx_key(const tsr_aead_ctx *ctx) {
  return ctx->key;
}

static int too_long(tsr_aead_alg alg, size_t len) {
  return (uint64_t)len > (is_gcm(alg) ? TSR_GCM_MAX : TSR_CHACHA_MAX);
}

/* The 96-bit nonce of the inner AEAD; extended nonces derive ctx->sub. */
static const uint8_t *inner_nonce(tsr_aead_ctx *ctx, const uint8_t *nonce, uint8_t buf[12]) {
  switch (ctx->alg) {
    case TSR_AEAD_XAES256GCM:
      xaes_derive(ctx, nonce);
      return nonce + 12;
    case TSR_AEAD_XCHACHA20POLY1305:
      tsr_hchacha20(ctx->sub, ctx->key, nonce);
      memset(buf, 0, 4);
      memcpy(buf + 4, nonce + 16, 8);
      return buf;
    default:
      return nonce;
  }
}

static const uint8_t *chacha_key(const tsr_aead_ctx *ctx) {
  return ctx->alg == TSR_AEAD_XCHACHA20POLY1305 ? ctx->sub : ctx->key;
}

tsr_status tsr_aead_seal(tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *pt, size_t ptlen,
                         const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len) {
  if (too_long(ctx->alg, ptlen)) return TSR_ERR_LENGTH;
  uint8_t nbuf[12];
  const uint8_t *n = inner_nonce(ctx, nonce, nbuf);
  if (is_gcm(ctx->alg))
    tsr_gcm_seal(&ctx->gcm, out, n, pt, ptlen, aad1, aad1len, aad2, aad2len);
  else
    tsr_chachapoly_seal(chacha_key(ctx), out, n, pt, ptlen, aad1, aad1len, aad2, aad2len);
  wipe_message_keys(ctx);
  return TSR_OK;
}

tsr_status tsr_aead_open(tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *sealed, size_t sealedlen,
                         const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len) {
  if (sealedlen < TSR_AEAD_TAGBYTES) return TSR_ERR_FORMAT;
  size_t ctlen = sealedlen - TSR_AEAD_TAGBYTES;
  if (too_long(ctx->alg, ctlen)) return TSR_ERR_LENGTH;
  uint8_t nbuf[12];
  const uint8_t *n = inner_nonce(ctx, nonce, nbuf);
  int r;
  if (is_gcm(ctx->alg))
    r = tsr_gcm_open(&ctx->gcm, out, n, sealed, ctlen, sealed + ctlen, aad1, aad1len, aad2, aad2len);
  else
    r = tsr_chachapoly_open(chacha_key(ctx), out, n, sealed, ctlen, sealed + ctlen, aad1, aad1len, aad2, aad2len);
  wipe_message_keys(ctx);
  if (r != 0) {
    /* The primitives verify before decrypting, so out holds no plaintext;
     * zero it anyway, as every backend does (tsr_aead.h). */
    tsr_memzero(out, ctlen);
    return TSR_ERR_AUTH;
  }
  return TSR_OK;
}
