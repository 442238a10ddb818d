/*
 * tsr_message: message format v1 (docs/API.md, contract), sealed and opened
 * by the C code both backends run:
 *
 *   0    1  version = 0x01
 *   1    1  algorithm id (tsr_aead_alg)
 *   2    4  key id, uint32 big-endian (0 for a bare AeadKey)
 *   6    n  nonce (12, or 24 for XChaCha20 / XAES)
 *   6+n     ciphertext || 16-byte tag
 *
 * AEAD associated data = bytes [0, 6+n) || caller's aad.
 *
 * The header is parsed, and every field checked with a worded error, once:
 * in lib/format.ts, before a message reaches this code. Here the header is
 * only the authenticated prefix whose length the context's algorithm fixes;
 * a wrong version, algorithm or key id byte fails authentication.
 */
#ifndef TSR_MESSAGE_H
#define TSR_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../aead/tsr_aead.h"
#include "tsr_nonce.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_MESSAGE_V1    0x01u
#define TSR_MESSAGE_FIXED 6u /* version + alg + key id */

size_t tsr_message_header_len(tsr_aead_alg alg);

/* Seals pt into out (header || ct || tag), with a fresh random nonce from
 * nonces (NULL: straight from tsr_random_bytes). out holds outlen bytes, at
 * least header + ptlen + 16 (else TSR_ERR_ARGUMENT); out + header may equal
 * pt. Returns the message length in *written. */
tsr_status tsr_message_seal(tsr_aead_ctx *ctx, tsr_nonce_pool *nonces, uint32_t key_id, uint8_t *out, size_t outlen,
                            const uint8_t *pt, size_t ptlen, const uint8_t *aad, size_t aadlen, size_t *written);

/* Writes the header of a message with a nonce already drawn; returns its
 * length (the async path draws on the calling thread, seals on a worker). */
size_t tsr_message_write_header(uint8_t *out, tsr_aead_alg alg, uint32_t key_id, const uint8_t *nonce);
/* Seals pt after a header already at out (tsr_message_write_header). */
tsr_status tsr_message_seal_body(tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *pt, size_t ptlen, const uint8_t *aad,
                                 size_t aadlen);

/* Opens msg (len bytes) into out (outlen >= len - header - 16, else
 * TSR_ERR_ARGUMENT; shorter than header + tag: TSR_ERR_FORMAT). out may
 * equal the ciphertext (msg + header). On failure out is zeroed. */
tsr_status tsr_message_open(tsr_aead_ctx *ctx, uint8_t *out, size_t outlen, const uint8_t *msg, size_t len,
                            const uint8_t *aad, size_t aadlen, size_t *written);

/* A batch: n inputs, each at in[i] with len[i] bytes; outputs back to back
 * from out, message i at off[i] (off has n + 1 entries; off[n] = total).
 * tsr_message_batch_layout fills off for a seal or an open of the inputs. */
typedef struct {
  const uint8_t *const *in;
  const size_t *len;
  size_t n;
  uint8_t *out;
  const size_t *off;
  const uint8_t *aad;
  size_t aadlen;
} tsr_message_batch;

/* off[0..n]: where each output starts; TSR_ERR_FORMAT if an open input is
 * shorter than header + tag. */
tsr_status tsr_message_batch_layout(tsr_aead_alg alg, int seal, const size_t *len, size_t n, size_t *off);
/* The headers of a seal batch, with fresh nonces (calling thread only: the
 * nonce pool is not shared). */
tsr_status tsr_message_batch_headers(const tsr_message_batch *b, tsr_aead_alg alg, uint32_t key_id,
                                     tsr_nonce_pool *nonces);
/* Seals or opens messages [begin, end); on failure returns the status and
 * the failing index in *failed. Opened plaintext is not wiped here: the
 * caller wipes the whole batch (all or nothing). */
tsr_status tsr_message_batch_run(tsr_aead_ctx *ctx, const tsr_message_batch *b, int seal, size_t begin, size_t end,
                                 size_t *failed);

#ifdef __cplusplus
}
#endif
#endif
