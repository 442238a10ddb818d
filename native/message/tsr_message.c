#include "tsr_message.h"

#include <string.h>

#include "../util/tsr_util.h"

size_t tsr_message_header_len(tsr_aead_alg alg) {
  return TSR_MESSAGE_FIXED + tsr_aead_nonce_len(alg);
}

size_t tsr_message_write_header(uint8_t *out, tsr_aead_alg alg, uint32_t key_id, const uint8_t *nonce) {
  size_t nlen = tsr_aead_nonce_len(alg);
  out[0] = TSR_MESSAGE_V1;
  out[1] = (uint8_t)alg;
  tsr_store32_be(out + 2, key_id);
  memcpy(out + TSR_MESSAGE_FIXED, nonce, nlen);
  return TSR_MESSAGE_FIXED + nlen;
}

tsr_status tsr_message_seal_body(tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *pt, size_t ptlen, const uint8_t *aad,
                                 size_t aadlen) {
  size_t h = tsr_message_header_len(tsr_aead_ctx_alg(ctx));
  return tsr_aead_seal(ctx, out + h, out + TSR_MESSAGE_FIXED, pt, ptlen, out, h, aad, aadlen);
}

tsr_status tsr_message_seal(tsr_aead_ctx *ctx, tsr_nonce_pool *nonces, uint32_t key_id, uint8_t *out, size_t outlen,
                            const uint8_t *pt, size_t ptlen, const uint8_t *aad, size_t aadlen, size_t *written) {
  tsr_aead_alg alg = tsr_aead_ctx_alg(ctx);
  size_t h = tsr_message_header_len(alg);
  *written = 0;
  if (ptlen > SIZE_MAX - h - TSR_AEAD_TAGBYTES || outlen < h + ptlen + TSR_AEAD_TAGBYTES) return TSR_ERR_ARGUMENT;
  uint8_t nonce[TSR_AEAD_NONCEBYTES_MAX];
  tsr_status st = tsr_nonce_take(nonces, nonce, tsr_aead_nonce_len(alg));
  if (st != TSR_OK) return st;
  tsr_message_write_header(out, alg, key_id, nonce);
  st = tsr_message_seal_body(ctx, out, pt, ptlen, aad, aadlen);
  if (st == TSR_OK) *written = h + ptlen + TSR_AEAD_TAGBYTES;
  return st;
}

tsr_status tsr_message_open(tsr_aead_ctx *ctx, uint8_t *out, size_t outlen, const uint8_t *msg, size_t len,
                            const uint8_t *aad, size_t aadlen, size_t *written) {
  size_t h = tsr_message_header_len(tsr_aead_ctx_alg(ctx));
  *written = 0;
  if (len < h + TSR_AEAD_TAGBYTES) return TSR_ERR_FORMAT;
  if (outlen < len - h - TSR_AEAD_TAGBYTES) return TSR_ERR_ARGUMENT;
  tsr_status st = tsr_aead_open(ctx, out, msg + TSR_MESSAGE_FIXED, msg + h, len - h, msg, h, aad, aadlen);
  if (st == TSR_OK) *written = len - h - TSR_AEAD_TAGBYTES;
  return st;
}

tsr_status tsr_message_batch_layout(tsr_aead_alg alg, int seal, const size_t *len, size_t n, size_t *off) {
  size_t over = tsr_message_header_len(alg) + TSR_AEAD_TAGBYTES;
  off[0] = 0;
  for (size_t i = 0; i < n; i++) {
    if (!seal && len[i] < over) return TSR_ERR_FORMAT;
    if (seal && len[i] > SIZE_MAX - over) return TSR_ERR_ARGUMENT;
    size_t m = seal ? len[i] + over : len[i] - over;
    if (m > SIZE_MAX - off[i]) return TSR_ERR_ARGUMENT;
    off[i + 1] = off[i] + m;
  }
  return TSR_OK;
}

tsr_status tsr_message_batch_headers(const tsr_message_batch *b, tsr_aead_alg alg, uint32_t key_id,
                                     tsr_nonce_pool *nonces) {
  uint8_t nonce[TSR_AEAD_NONCEBYTES_MAX];
  size_t nlen = tsr_aead_nonce_len(alg);
  for (size_t i = 0; i < b->n; i++) {
    tsr_status st = tsr_nonce_take(nonces, nonce, nlen);
    if (st != TSR_OK) return st;
    tsr_message_write_header(b->out + b->off[i], alg, key_id, nonce);
  }
  return TSR_OK;
}

tsr_status tsr_message_batch_run(tsr_aead_ctx *ctx, const tsr_message_batch *b, int seal, size_t begin, size_t end,
                                 size_t *failed) {
  size_t h = tsr_message_header_len(tsr_aead_ctx_alg(ctx));
  for (size_t i = begin; i < end; i++) {
    tsr_status st;
    if (seal) {
      st = tsr_message_seal_body(ctx, b->out + b->off[i], b->in[i], b->len[i], b->aad, b->aadlen);
    } else {
      const uint8_t *m = b->in[i];
      st = tsr_aead_open(ctx, b->out + b->off[i], m + TSR_MESSAGE_FIXED, m + h, b->len[i] - h, m, h, b->aad, b->aadlen);
    }
    if (st != TSR_OK) {
      *failed = i;
      return st;
    }
  }
  return TSR_OK;
}
