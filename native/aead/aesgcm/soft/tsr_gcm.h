/*
 * tsr_gcm: AES-GCM (NIST SP 800-38D) with 96-bit nonces and 16-byte tags on
 * the constant-time tsr_aes and tsr_ghash, for AES-256-GCM, the AES-128-GCM
 * under Cobblestone-128 and XAES-256-GCM (after its key derivation).
 *
 * The associated data is aad1 || aad2 (message format v1 authenticates its
 * header and the caller's data without a copy). Open verifies the tag over
 * the ciphertext before it decrypts anything, so no unauthenticated
 * plaintext is ever written, in place or not.
 */
#ifndef TSR_GCM_H
#define TSR_GCM_H

#include <stddef.h>
#include <stdint.h>

#include "tsr_aes.h"
#include "tsr_ghash.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  tsr_aes_key aes;
  tsr_ghash_key ghash; /* H = AES_K(0^128) */
} tsr_gcm_key;

/* keylen 16 or 32. Wipe with tsr_memzero when done. */
void tsr_gcm_init(tsr_gcm_key *k, const uint8_t *key, size_t keylen);
/* out = ct || tag (ptlen + 16 bytes); out may equal pt. ptlen <= 2^36 - 32 (the caller checks). */
void tsr_gcm_seal(const tsr_gcm_key *k, uint8_t *out, const uint8_t nonce[12], const uint8_t *pt, size_t ptlen,
                  const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len);
/* ct is ctlen bytes of ciphertext, tag the 16 after it. 0 on success, -1 on a
 * tag mismatch (out untouched). out may equal ct. */
int tsr_gcm_open(const tsr_gcm_key *k, uint8_t *out, const uint8_t nonce[12], const uint8_t *ct, size_t ctlen,
                 const uint8_t tag[16], const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len);

#ifdef __cplusplus
}
#endif
#endif
