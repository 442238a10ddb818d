/*
 * tsr_aead (native/aead/tsr_aead.h) for the addon: one front over every
 * tier (native/aead/tsr_kernel.h). It checks lengths once, holds the key and
 * every key-derived state in tsr_secmem, and calls a kernel:
 *   AES-256-GCM, AES-128-GCM    tsr_aesgcm_* (NIST SP 800-38D) on the tier's AES kernel
 *   XAES-256-GCM                L = AES_K(0^128), K1 = dbl(L), Kx = AES_K(M1 ^ K1) ||
 *                               AES_K(M2 ^ K1), then AES-256-GCM under Kx with n[12:24]
 *                               (c2sp.org/XAES-256-GCM)
 *   ChaCha20-Poly1305           tsr_chachapoly_kern_* (RFC 8439 section 2.8)
 *   XChaCha20-Poly1305          HChaCha20(key, n[0:16]), then ChaCha20-Poly1305 with
 *                               0^32 || n[16:24] (draft-irtf-cfrg-xchacha-03 section 2.3)
 * On the openssl tier (or a family the tier has no kernel for) it delegates
 * to native/openssl/tsr_aead_openssl.c. Large AES-GCM messages run on two
 * cores (tsr_aesgcm_split.c) unless the context is serial.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_aead.h"
#include "../chacha20/tsr_chacha20.h"
#include "../util/tsr_util.h"
#include "../openssl/tsr_aead_openssl.h"
#include "../secmem/tsr_secmem.h"
#include "aesgcm/tsr_aesgcm_split.h"
#include "tsr_kernel.h"

/* Secure memory of a kernel context: the input key (and XAES's K1), the
 * per-message subkey, the AES-GCM key state(s) and the Poly1305 state. */
typedef struct {
  uint8_t key[32];
  uint8_t k1[16];  /* XAES-256-GCM: dbl(AES_K(0^128)) */
  uint8_t sub[32]; /* per-message subkey (XAES Kx, XChaCha HChaCha20 output) */
  union {          /* only what the algorithm uses is allocated (kstate_size) */
    tsr_poly1305_kstate ps;
    struct {
      tsr_aesgcm_key gk;  /* AES-GCM under the key (XAES: the key's AES schedule for the KDF) */
      tsr_aesgcm_key gkx; /* XAES: AES-256-GCM under Kx, made per message */
    } g;
  } u;
} kstate;

static size_t kstate_size(tsr_aead_alg alg) {
  const size_t head = offsetof(kstate, u);
  if (alg == TSR_AEAD_XAES256GCM) return head + 2 * sizeof(tsr_aesgcm_key);
  if (alg == TSR_AEAD_AES256GCM || alg == TSR_AEAD_AES128GCM) return head + sizeof(tsr_aesgcm_key);
  return head + sizeof(tsr_poly1305_kstate);
}

struct tsr_aead_ctx {
  tsr_aead_alg alg;
  tsr_kernel kernel;
  int uses_kernel;        /* 0: ossl does the work */
  kstate *ks;             /* secure memory (kernel path) */
  tsr_aead_openssl *ossl; /* openssl path */
  int serial;
};

static int is_gcm(tsr_aead_alg alg) {
  return alg == TSR_AEAD_AES256GCM || alg == TSR_AEAD_AES128GCM || alg == TSR_AEAD_XAES256GCM;
}

tsr_aead_ctx *tsr_aead_ctx_new_kernel(tsr_aead_alg alg, const uint8_t *key, const tsr_kernel *k, tsr_status *status) {
  if (!tsr_aead_valid(alg) && alg != TSR_AEAD_AES128GCM) {
    *status = TSR_ERR_ALGORITHM;
    return NULL;
  }
  tsr_aead_ctx *ctx = (tsr_aead_ctx *)calloc(1, sizeof *ctx);
  if (!ctx) {
    *status = TSR_ERR_NOMEM;
    return NULL;
  }
  ctx->alg = alg;
  ctx->kernel = *k;
  ctx->uses_kernel = is_gcm(alg) ? k->gcm != NULL : (k->chacha != NULL && k->poly != NULL);
  if (ctx->uses_kernel) {
    ctx->ks = (kstate *)tsr_secmem_alloc(kstate_size(alg));
    if (!ctx->ks) {
      *status = TSR_ERR_NOMEM;
      free(ctx);
      return NULL;
    }
  } else {
    ctx->ossl = tsr_aead_openssl_new(alg, key, status);
    if (!ctx->ossl) {
      free(ctx);
      return NULL;
    }
  }
  *status = tsr_aead_ctx_rekey(ctx, key);
  if (*status != TSR_OK) {
    tsr_aead_ctx_free(ctx);
    return NULL;
  }
  return ctx;
}

tsr_aead_ctx *tsr_aead_ctx_new(tsr_aead_alg alg, const uint8_t *key, tsr_status *status) {
  tsr_kernel k;
  const char *why;
  if (tsr_kernel_default(&k, &why) != 0) {
    *status = TSR_ERR_BACKEND;
    return NULL;
  }
  return tsr_aead_ctx_new_kernel(alg, key, &k, status);
}

const tsr_kernel *tsr_aead_ctx_kernel(const tsr_aead_ctx *ctx) {
  return &ctx->kernel;
}

/* XAES-256-GCM steps 1-2: L = AES-256_K(0^128); K1 = dbl(L) in GF(2^128),
 * branch-free (the carry mask comes from MSB(L) arithmetically). */
static void xaes_k1(tsr_aead_ctx *ctx) {
  uint8_t l[16] = {0};
  kstate *s = ctx->ks;
  ctx->kernel.gcm->ecb(&s->u.g.gk, l, l, 1);
  uint8_t mask = (uint8_t)(0u - (l[0] >> 7));
  for (int i = 0; i < 15; i++) s->k1[i] = (uint8_t)((l[i] << 1) | (l[i + 1] >> 7));
  s->k1[15] = (uint8_t)((l[15] << 1) ^ (mask & 0x87));
  tsr_memzero(l, sizeof l);
}

/* XAES-256-GCM steps 3-5: Kx = AES_K(M1 ^ K1) || AES_K(M2 ^ K1), M_b =
 * [b]_16 || "X" || 0x00 || n[0:12]; then the GCM key state under Kx. */
static void xaes_derive(tsr_aead_ctx *ctx, const uint8_t nonce[24]) {
  kstate *s = ctx->ks;
  uint8_t *m = s->sub;
  for (int b = 0; b < 2; b++) {
    uint8_t *mb = m + 16 * b;
    mb[0] = 0x00;
    mb[1] = (uint8_t)(b + 1);
    mb[2] = 0x58;
    mb[3] = 0x00;
    memcpy(mb + 4, nonce, 12);
    for (int i = 0; i < 16; i++) mb[i] ^= s->k1[i];
  }
  ctx->kernel.gcm->ecb(&s->u.g.gk, m, m, 2);
  ctx->kernel.gcm->init(&s->u.g.gkx, m, 32);
  tsr_stack_scrub(); /* key expansion and H powers spilled by the compiler */
}

tsr_status tsr_aead_ctx_rekey(tsr_aead_ctx *ctx, const uint8_t *key) {
  if (!ctx->uses_kernel) return tsr_aead_openssl_rekey(ctx->ossl, key);
  kstate *s = ctx->ks;
  const size_t klen = tsr_aead_key_len(ctx->alg);
  if (s->key != key) memmove(s->key, key, klen);
  if (is_gcm(ctx->alg)) {
    ctx->kernel.gcm->init(&s->u.g.gk, s->key, klen);
    if (ctx->alg == TSR_AEAD_XAES256GCM) xaes_k1(ctx);
    tsr_stack_scrub();
  }
  return TSR_OK;
}

void tsr_aead_ctx_free(tsr_aead_ctx *ctx) {
  if (!ctx) return;
  tsr_aead_openssl_free(ctx->ossl);
  tsr_secmem_free(ctx->ks); /* zeroizes key, subkeys, schedules, H powers, Poly1305 state */
  free(ctx);
}

tsr_aead_alg tsr_aead_ctx_alg(const tsr_aead_ctx *ctx) {
  return ctx->alg;
}

void tsr_aead_ctx_set_parallel(tsr_aead_ctx *ctx, int parallel) {
  ctx->serial = !parallel;
  if (ctx->ossl) tsr_aead_openssl_set_parallel(ctx->ossl, parallel);
}

const uint8_t *tsr_aead_ctx_key(const tsr_aead_ctx *ctx) {
  return ctx->uses_kernel ? ctx->ks->key : tsr_aead_openssl_key(ctx->ossl);
}

/* GCM caps a message at 2^36 - 32 bytes (SP 800-38D section 5.2.1.1);
 * ChaCha20-Poly1305 at 2^38 - 64 (RFC 8439 section 2.8). */
static int length_ok(tsr_aead_alg alg, size_t len) {
  uint64_t max = is_gcm(alg) ? (((uint64_t)1 << 36) - 32) : (((uint64_t)1 << 38) - 64);
  return (uint64_t)len <= max;
}

/* The GCM key state and 12-byte IV of one message (XAES: derived now). */
static const tsr_aesgcm_key *gcm_begin(tsr_aead_ctx *ctx, const uint8_t *nonce, const uint8_t **iv) {
  if (ctx->alg != TSR_AEAD_XAES256GCM) {
    *iv = nonce;
    return &ctx->ks->u.g.gk;
  }
  xaes_derive(ctx, nonce);
  *iv = nonce + 12;
  return &ctx->ks->u.g.gkx;
}

/* The ChaCha20 key and 12-byte nonce of one message (XChaCha: HChaCha20 subkey). */
static const uint8_t *chacha_begin(tsr_aead_ctx *ctx, const uint8_t *nonce, uint8_t iv[12]) {
  if (ctx->alg != TSR_AEAD_XCHACHA20POLY1305) {
    memcpy(iv, nonce, 12);
    return ctx->ks->key;
  }
  tsr_hchacha20(ctx->ks->sub, ctx->ks->key, nonce);
  memset(iv, 0, 4);
  memcpy(iv + 4, nonce + 16, 8);
  return ctx->ks->sub;
}

/* Two cores for large AES-GCM messages, unless the context is serial. */
static int split(const tsr_aead_ctx *ctx, size_t len) {
  return !ctx->serial && len >= TSR_AESGCM_SPLIT_MIN;
}

tsr_status tsr_aead_seal(tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *pt, size_t ptlen,
                         const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len) {
  if (!length_ok(ctx->alg, ptlen)) return TSR_ERR_LENGTH;
  if (!ctx->uses_kernel) return tsr_aead_openssl_seal(ctx->ossl, out, nonce, pt, ptlen, aad1, aad1len, aad2, aad2len);
  if (is_gcm(ctx->alg)) {
    const uint8_t *iv;
    const tsr_aesgcm_key *k = gcm_begin(ctx, nonce, &iv);
    if (split(ctx, ptlen))
      tsr_aesgcm_split_seal(ctx->kernel.gcm, k, out, iv, pt, ptlen, aad1, aad1len, aad2, aad2len);
    else
      tsr_aesgcm_seal(ctx->kernel.gcm, k, out, iv, pt, ptlen, aad1, aad1len, aad2, aad2len);
  } else {
    uint8_t iv[12];
    const uint8_t *key = chacha_begin(ctx, nonce, iv);
    tsr_chachapoly_kern_seal(ctx->kernel.chacha, ctx->kernel.poly, &ctx->ks->u.ps, key, out, iv, pt, ptlen, aad1,
                             aad1len, aad2, aad2len);
  }
  return TSR_OK;
}

tsr_status tsr_aead_open(tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *sealed, size_t sealedlen,
                         const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len) {
  if (sealedlen < TSR_AEAD_TAGBYTES) return TSR_ERR_FORMAT;
  const size_t len = sealedlen - TSR_AEAD_TAGBYTES;
  if (!length_ok(ctx->alg, len)) return TSR_ERR_LENGTH;
  if (!ctx->uses_kernel)
    return tsr_aead_openssl_open(ctx->ossl, out, nonce, sealed, sealedlen, aad1, aad1len, aad2, aad2len);
  uint8_t tag[TSR_AEAD_TAGBYTES];
  memcpy(tag, sealed + len, sizeof tag); /* in-place opens overwrite sealed */
  int ok;
  if (is_gcm(ctx->alg)) {
    const uint8_t *iv;
    const tsr_aesgcm_key *k = gcm_begin(ctx, nonce, &iv);
    ok = split(ctx, len)
             ? tsr_aesgcm_split_open(ctx->kernel.gcm, k, out, iv, sealed, len, tag, aad1, aad1len, aad2, aad2len)
             : tsr_aesgcm_open(ctx->kernel.gcm, k, out, iv, sealed, len, tag, aad1, aad1len, aad2, aad2len);
  } else {
    uint8_t iv[12];
    const uint8_t *key = chacha_begin(ctx, nonce, iv);
    ok = tsr_chachapoly_kern_open(ctx->kernel.chacha, ctx->kernel.poly, &ctx->ks->u.ps, key, out, iv, sealed, len, tag,
                                  aad1, aad1len, aad2, aad2len);
    if (ok != 0 && len > 0) tsr_memzero(out, len); /* whatever the kernel wrote */
  }
  return ok == 0 ? TSR_OK : TSR_ERR_AUTH;
}
