/*
 * tsr_chachapoly: ChaCha20 (RFC 8439 section 2.4) and the
 * ChaCha20-Poly1305 AEAD (RFC 8439 section 2.8) in portable C for the
 * software backend. XChaCha20-Poly1305 is HChaCha20 (tsr_chacha20.h) plus
 * this, done by the caller. The associated data is aad1 || aad2. Open
 * verifies the tag before decrypting anything.
 */
#ifndef TSR_CHACHAPOLY_H
#define TSR_CHACHAPOLY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* out = ct || tag (ptlen + 16 bytes); out may equal pt. */
void tsr_chachapoly_seal(const uint8_t key[32], uint8_t *out, const uint8_t nonce[12], const uint8_t *pt, size_t ptlen,
                         const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len);
/* 0 on success, -1 on a tag mismatch (out untouched). out may equal ct. */
int tsr_chachapoly_open(const uint8_t key[32], uint8_t *out, const uint8_t nonce[12], const uint8_t *ct, size_t ctlen,
                        const uint8_t tag[16], const uint8_t *aad1, size_t aad1len, const uint8_t *aad2,
                        size_t aad2len);

#ifdef __cplusplus
}
#endif
#endif
