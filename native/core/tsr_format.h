/*
 * Message format v1 (docs/API.md, contract):
 *
 *   0    1  version = 0x01
 *   1    1  algorithm id (tsr_aead_alg)
 *   2    4  key id, uint32 big-endian (0 for a bare AeadKey)
 *   6    n  nonce (12, or 24 for XChaCha20 / XAES)
 *   6+n     ciphertext || 16-byte tag
 *
 * AEAD associated data = bytes [0, 6+n) || caller's aad.
 */
#ifndef TSR_FORMAT_H
#define TSR_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "tsr_aead.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_FORMAT_V1    0x01u
#define TSR_FORMAT_FIXED 6u /* version + alg + key id */

typedef struct {
  tsr_aead_alg alg;
  uint32_t key_id;
  size_t header_len; /* 6 + nonce length: the authenticated prefix */
  const uint8_t *nonce;
  const uint8_t *sealed; /* ciphertext || tag */
  size_t sealed_len;
} tsr_format_msg;

size_t tsr_format_header_len(tsr_aead_alg alg);
/* Total message length for a plaintext of ptlen bytes. */
size_t tsr_format_sealed_len(tsr_aead_alg alg, size_t ptlen);
/* Writes version, alg id, key id and nonce; returns the header length. */
size_t tsr_format_write_header(uint8_t *out, tsr_aead_alg alg, uint32_t key_id, const uint8_t *nonce);
/* TSR_ERR_FORMAT for a short input or unknown version, TSR_ERR_ALGORITHM for
 * an unknown algorithm id. Parsing does not read past len. */
tsr_status tsr_format_parse(const uint8_t *in, size_t len, tsr_format_msg *msg);

#ifdef __cplusplus
}
#endif
#endif
