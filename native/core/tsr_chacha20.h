/* tsr_chacha20: portable ChaCha20 pieces of the shared core. */
#ifndef TSR_CHACHA20_H
#define TSR_CHACHA20_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* HChaCha20 (draft-irtf-cfrg-xchacha-03 section 2.2): derives the
 * XChaCha20 subkey from a 256-bit key and the first 16 nonce bytes. */
void tsr_hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t nonce16[16]);

#ifdef __cplusplus
}
#endif
#endif
