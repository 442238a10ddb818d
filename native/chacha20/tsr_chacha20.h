/* tsr_chacha20: the portable ChaCha20 block function and HChaCha20, shared by every build. */
#ifndef TSR_CHACHA20_H
#define TSR_CHACHA20_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ChaCha20 (RFC 8439 section 2.4): out = in XOR keystream(key, nonce, blocks counter, counter + 1, ...); out may equal in.
 * The 32-bit block counter must not wrap (len <= 2^38 - 64, the caller checks). */
void tsr_chacha20_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32], const uint8_t nonce[12],
                      uint32_t counter);

/* HChaCha20 (draft-irtf-cfrg-xchacha-03 section 2.2): derives the
 * XChaCha20 subkey from a 256-bit key and the first 16 nonce bytes. */
void tsr_hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t nonce16[16]);

#ifdef __cplusplus
}
#endif
#endif
