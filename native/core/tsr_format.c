#include "tsr_format.h"

#include <string.h>

#include "tsr_util.h"

int tsr_aead_valid(int alg) {
  return alg >= TSR_AEAD_AES256GCM && alg <= TSR_AEAD_XAES256GCM;
}

size_t tsr_aead_nonce_len(tsr_aead_alg alg) {
  /* 96-bit nonces for the NIST/RFC 8439 constructions, 192-bit for the
   * extended-nonce ones (draft-irtf-cfrg-xchacha section 2.3, c2sp XAES). */
  return (alg == TSR_AEAD_XCHACHA20POLY1305 || alg == TSR_AEAD_XAES256GCM) ? 24u : 12u;
}

size_t tsr_aead_key_len(tsr_aead_alg alg) {
  return alg == TSR_AEAD_AES128GCM ? 16u : TSR_AEAD_KEYBYTES;
}

size_t tsr_format_header_len(tsr_aead_alg alg) {
  return TSR_FORMAT_FIXED + tsr_aead_nonce_len(alg);
}

size_t tsr_format_sealed_len(tsr_aead_alg alg, size_t ptlen) {
  return tsr_format_header_len(alg) + ptlen + TSR_AEAD_TAGBYTES;
}

size_t tsr_format_write_header(uint8_t *out, tsr_aead_alg alg, uint32_t key_id, const uint8_t *nonce) {
  size_t nlen = tsr_aead_nonce_len(alg);
  out[0] = TSR_FORMAT_V1;
  out[1] = (uint8_t)alg;
  tsr_store32_be(out + 2, key_id);
  memcpy(out + TSR_FORMAT_FIXED, nonce, nlen);
  return TSR_FORMAT_FIXED + nlen;
}

tsr_status tsr_format_parse(const uint8_t *in, size_t len, tsr_format_msg *msg) {
  if (len < TSR_FORMAT_FIXED || in[0] != TSR_FORMAT_V1) return TSR_ERR_FORMAT;
  if (!tsr_aead_valid(in[1])) return TSR_ERR_ALGORITHM;
  msg->alg = (tsr_aead_alg)in[1];
  msg->key_id = tsr_load32_be(in + 2);
  msg->header_len = tsr_format_header_len(msg->alg);
  if (len < msg->header_len + TSR_AEAD_TAGBYTES) return TSR_ERR_FORMAT;
  msg->nonce = in + TSR_FORMAT_FIXED;
  msg->sealed = in + msg->header_len;
  msg->sealed_len = len - msg->header_len;
  return TSR_OK;
}
