/*
 * The exports of the WASM module: a thin, mechanical surface over
 * tsr_aead.h and tsr_chunked.h for lib/backend/wasm.ts, which checks every
 * argument before it calls in. Pointers are offsets in
 * linear memory; results are tsr_status values (0 = TSR_OK, negative =
 * error) or pointers (0 = failure, reason in tsr_wasm_status()).
 *
 * 64-bit chunk counters cross as two uint32 halves so that no export needs
 * a BigInt on the JS side.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../aead/tsr_aead.h"
#include "../chunked/tsr_chunked.h"
#include "../message/tsr_message.h"
#include "../util/tsr_util.h"
#include "../secmem/tsr_secmem.h"

#define EXPORT(name) __attribute__((export_name(#name))) name

static tsr_status g_status;

int32_t EXPORT(tsr_wasm_status)(void) {
  return g_status;
}

/* A context under key (tsr_aead_key_len bytes at key, which this call wipes:
 * the caller copied it into scratch), or a fresh random key when key is 0,
 * generated inside the key region. */
tsr_aead_ctx *EXPORT(tsr_wasm_aead_new)(int32_t alg, uint8_t *key) {
  tsr_aead_ctx *ctx;
  if (key) {
    ctx = tsr_aead_ctx_new((tsr_aead_alg)alg, key, &g_status);
    tsr_memzero(key, tsr_aead_key_len((tsr_aead_alg)alg));
    return ctx;
  }
  uint8_t *tmp = tsr_secmem_alloc(TSR_AEAD_KEYBYTES);
  if (!tmp) {
    g_status = TSR_ERR_NOMEM;
    return NULL;
  }
  tsr_random_bytes(tmp, TSR_AEAD_KEYBYTES);
  ctx = tsr_aead_ctx_new((tsr_aead_alg)alg, tmp, &g_status);
  tsr_secmem_free(tmp);
  return ctx;
}

/* Re-keys ctx from key (wiped afterwards), as the raw API does per call. */
int32_t EXPORT(tsr_wasm_aead_rekey)(tsr_aead_ctx *ctx, uint8_t *key) {
  tsr_status st = tsr_aead_ctx_rekey(ctx, key);
  tsr_memzero(key, tsr_aead_key_len(tsr_aead_ctx_alg(ctx)));
  return st;
}

/* 0 if key equals ctx's key (constant time), else -1. */
int32_t EXPORT(tsr_wasm_aead_same_key)(const tsr_aead_ctx *ctx, const uint8_t *key) {
  return tsr_ct_compare(tsr_aead_ctx_key(ctx), key, tsr_aead_key_len(tsr_aead_ctx_alg(ctx)));
}

void EXPORT(tsr_wasm_aead_free)(tsr_aead_ctx *ctx) {
  tsr_aead_ctx_free(ctx);
}

const uint8_t *EXPORT(tsr_wasm_aead_key)(const tsr_aead_ctx *ctx) {
  return tsr_aead_ctx_key(ctx);
}

int32_t EXPORT(tsr_wasm_aead_seal)(tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *pt,
                                   uint32_t ptlen, const uint8_t *aad1, uint32_t aad1len, const uint8_t *aad2,
                                   uint32_t aad2len) {
  return tsr_aead_seal(ctx, out, nonce, pt, ptlen, aad1, aad1len, aad2, aad2len);
}

int32_t EXPORT(tsr_wasm_aead_open)(tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *sealed,
                                   uint32_t sealedlen, const uint8_t *aad1, uint32_t aad1len, const uint8_t *aad2,
                                   uint32_t aad2len) {
  return tsr_aead_open(ctx, out, nonce, sealed, sealedlen, aad1, aad1len, aad2, aad2len);
}

/* Message format v1 (native/message): one nonce pool for the instance (one
 * JS thread; a WebAssembly instance cannot fork), in the key region, made by
 * tsr_wasm_init when the instance starts (NULL if memory was short: every
 * nonce then comes straight from the host). */
static tsr_nonce_pool *g_nonces;

void EXPORT(tsr_wasm_init)(void) {
  if (!g_nonces) g_nonces = tsr_nonce_pool_new();
}

/* *written (a uint32 in scratch) receives the message length. */
int32_t EXPORT(tsr_wasm_message_seal)(tsr_aead_ctx *ctx, uint32_t key_id, uint8_t *out, uint32_t outlen,
                                      const uint8_t *pt, uint32_t ptlen, const uint8_t *aad, uint32_t aadlen,
                                      uint32_t *written) {
  size_t n = 0;
  tsr_status st = tsr_message_seal(ctx, g_nonces, key_id, out, outlen, pt, ptlen, aad, aadlen, &n);
  *written = (uint32_t)n;
  return st;
}

int32_t EXPORT(tsr_wasm_message_open)(tsr_aead_ctx *ctx, uint8_t *out, uint32_t outlen, const uint8_t *msg,
                                      uint32_t len, const uint8_t *aad, uint32_t aadlen, uint32_t *written) {
  size_t n = 0;
  tsr_status st = tsr_message_open(ctx, out, outlen, msg, len, aad, aadlen, &n);
  *written = (uint32_t)n;
  return st;
}

/* A batch (tsr_message_batch): in and len are arrays of n uint32 (input
 * offsets and lengths), off receives n + 1 uint32 output offsets from out.
 * Layout first (out 0: only fills off), then the run; *failed receives the
 * index of a failing message. size_t is 32-bit here, so the arrays are used
 * as they are. */
int32_t EXPORT(tsr_wasm_message_batch)(tsr_aead_ctx *ctx, uint32_t key_id, int32_t seal, const uint8_t *const *in,
                                       const size_t *len, uint32_t n, uint8_t *out, size_t *off, const uint8_t *aad,
                                       uint32_t aadlen, uint32_t *failed) {
  tsr_aead_alg alg = tsr_aead_ctx_alg(ctx);
  if (!out) return tsr_message_batch_layout(alg, seal, len, n, off);
  tsr_message_batch b = {in, len, n, out, off, aad, aadlen};
  tsr_status st = seal ? tsr_message_batch_headers(&b, alg, key_id, g_nonces) : TSR_OK;
  size_t f = 0;
  if (st == TSR_OK) st = tsr_message_batch_run(ctx, &b, seal, 0, n, &f);
  *failed = (uint32_t)f;
  return st;
}

/* One Cobblestone message: derived keys and the chunk AEAD context, all in
 * the key region. */
typedef struct {
  tsr_chunked_keys keys;
  tsr_aead_ctx *ctx;
} chunked;

static chunked *chunked_make(tsr_chunked_suite suite) {
  chunked *h = tsr_secmem_alloc(sizeof *h);
  if (!h) {
    g_status = TSR_ERR_NOMEM;
    return NULL;
  }
  h->ctx = tsr_aead_ctx_new(tsr_chunked_aead(suite), h->keys.key, &g_status);
  if (!h->ctx) {
    tsr_secmem_free(h);
    return NULL;
  }
  return h;
}

/*
 * mode 0: key is the input key (tsr_chunked_key_len bytes), salt the 24-byte
 *         salt, context the Cobblestone context: derive (spec "Key derivation").
 * mode 1: raw (test vectors, workers): key is the derived AEAD key and salt
 *         the 12-byte base nonce; no commitment.
 * key is not wiped here: it may be an AeadKey's bytes in the key region
 * (tsr_wasm_aead_key); the caller wipes scratch copies.
 */
chunked *EXPORT(tsr_wasm_chunked_new)(int32_t suite, const uint8_t *key, const uint8_t *salt, const uint8_t *context,
                                      uint32_t context_len, int32_t mode) {
  if (!tsr_chunked_suite_valid(suite)) {
    g_status = TSR_ERR_ALGORITHM;
    return NULL;
  }
  chunked *h = chunked_make((tsr_chunked_suite)suite);
  if (!h) return NULL;
  if (mode == 1) {
    memcpy(h->keys.key, key, tsr_chunked_key_len((tsr_chunked_suite)suite));
    memcpy(h->keys.base_nonce, salt, TSR_CHUNKED_NONCE);
  } else {
    tsr_chunked_derive(&h->keys, (tsr_chunked_suite)suite, key, salt, context, context_len);
  }
  tsr_aead_ctx_rekey(h->ctx, h->keys.key);
  return h;
}

void EXPORT(tsr_wasm_chunked_free)(chunked *h) {
  if (!h) return;
  tsr_aead_ctx_free(h->ctx);
  tsr_secmem_free(h);
}

/* The derived key (first tsr_chunked_key_len bytes) and base nonce, for
 * handing a message to a worker's module (mode 1 there). */
const uint8_t *EXPORT(tsr_wasm_chunked_key)(const chunked *h) {
  return h->keys.key;
}
const uint8_t *EXPORT(tsr_wasm_chunked_base_nonce)(const chunked *h) {
  return h->keys.base_nonce;
}
const uint8_t *EXPORT(tsr_wasm_chunked_commitment)(const chunked *h) {
  return h->keys.commitment;
}

int32_t EXPORT(tsr_wasm_chunked_check)(const chunked *h, const uint8_t *commitment) {
  return tsr_chunked_check(&h->keys, commitment);
}

static uint64_t u64(uint32_t lo, uint32_t hi) {
  return ((uint64_t)hi << 32) | lo;
}

int32_t EXPORT(tsr_wasm_chunked_seal)(chunked *h, uint32_t counter_lo, uint32_t counter_hi, const uint8_t *pt,
                                      uint32_t ptlen, int32_t final, uint8_t *out) {
  return tsr_chunked_seal(h->ctx, h->keys.base_nonce, u64(counter_lo, counter_hi), pt, ptlen, final, out);
}

/* *ptlen (a uint32 in scratch) receives the plaintext length. */
int32_t EXPORT(tsr_wasm_chunked_open)(chunked *h, uint32_t counter_lo, uint32_t counter_hi, const uint8_t *ct,
                                      uint32_t ctlen, int32_t final, uint8_t *out, uint32_t *ptlen) {
  size_t n = 0;
  tsr_status st = tsr_chunked_open(h->ctx, h->keys.base_nonce, u64(counter_lo, counter_hi), ct, ctlen, final, out, &n);
  *ptlen = (uint32_t)n;
  return st;
}

/* Plaintext length of a chunk stream of ctlen bytes into out[0..1] (lo, hi). */
int32_t EXPORT(tsr_wasm_chunked_opened_len)(uint32_t ctlen_lo, uint32_t ctlen_hi, uint32_t *out) {
  uint64_t pt = 0;
  tsr_status st = tsr_chunked_opened_len(u64(ctlen_lo, ctlen_hi), &pt);
  out[0] = (uint32_t)pt;
  out[1] = (uint32_t)(pt >> 32);
  return st;
}

/* The shape of a run (tsr_chunked_run_shape): out[0..1] = chunks (lo, hi),
 * out[2..3] = bytes the run writes (lo, hi). The one home of the chunk
 * math, for the JS side too. */
int32_t EXPORT(tsr_wasm_chunked_run_shape)(int32_t seal, uint32_t inlen_lo, uint32_t inlen_hi, int32_t final,
                                           uint32_t *out) {
  tsr_chunked_shape shape = {0, 0};
  tsr_status st = tsr_chunked_run_shape(seal, u64(inlen_lo, inlen_hi), final, &shape);
  out[0] = (uint32_t)shape.chunks;
  out[1] = (uint32_t)(shape.chunks >> 32);
  out[2] = (uint32_t)shape.outlen;
  out[3] = (uint32_t)(shape.outlen >> 32);
  return st;
}
