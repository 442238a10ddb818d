/*
 * The OpenSSL tier of the AEADs (tsr_aead_openssl.c): the same operations
 * as native/aead/tsr_aead.h, called by the front (native/aead/tsr_aead.c)
 * after it has checked lengths. Key schedules live in OpenSSL's heap.
 */
#ifndef TSR_AEAD_OPENSSL_H
#define TSR_AEAD_OPENSSL_H

#include "../aead/tsr_aead.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsr_aead_openssl tsr_aead_openssl;

tsr_aead_openssl *tsr_aead_openssl_new(tsr_aead_alg alg, const uint8_t *key, tsr_status *status);
void tsr_aead_openssl_free(tsr_aead_openssl *ctx);
tsr_status tsr_aead_openssl_rekey(tsr_aead_openssl *ctx, const uint8_t *key);
void tsr_aead_openssl_set_parallel(tsr_aead_openssl *ctx, int parallel);
const uint8_t *tsr_aead_openssl_key(const tsr_aead_openssl *ctx);
tsr_status tsr_aead_openssl_seal(tsr_aead_openssl *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *pt,
                                 size_t ptlen, const uint8_t *aad1, size_t aad1len, const uint8_t *aad2,
                                 size_t aad2len);
tsr_status tsr_aead_openssl_open(tsr_aead_openssl *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *sealed,
                                 size_t sealedlen, const uint8_t *aad1, size_t aad1len, const uint8_t *aad2,
                                 size_t aad2len);

#ifdef __cplusplus
}
#endif
#endif
