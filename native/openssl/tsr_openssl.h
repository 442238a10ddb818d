/* Internal to the OpenSSL backend: what its files share. */
#ifndef TSR_OPENSSL_H
#define TSR_OPENSSL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* Ciphers fetched once (EVP_CIPHER_fetch): the legacy EVP_aes_256_gcm()
 * path does an implicit fetch, with a lock, on every init. */
typedef struct {
  EVP_CIPHER *gcm, *gcm128, *chacha, *ecb, *ctr;
} tsr_openssl_ciphers;
const tsr_openssl_ciphers *tsr_openssl_fetch(void);

/* EVP lengths are ints: large buffers go in 1 GiB pieces. */
#define TSR_EVP_STEP ((size_t)1 << 30)

/* EVP_CipherUpdate over any length (EVP lengths are ints: 1 GiB pieces).
 * out == NULL feeds associated data. Returns 1 on success. */
int tsr_openssl_update(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in, size_t len);

#endif
