/*
 * tsr_poly1305: the Poly1305 one-time authenticator (RFC 8439 section 2.5)
 * with 26-bit limbs and 32x32->64 multiplies (no 128-bit integers, so it
 * compiles for wasm32 without compiler-rt). Constant time: carries are
 * propagated unconditionally and the final reduction selects by mask.
 */
#ifndef TSR_POLY1305_H
#define TSR_POLY1305_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint32_t r[5], h[5], pad[4];
  uint8_t buf[16];
  size_t fill;
} tsr_poly1305_state;

void tsr_poly1305_init(tsr_poly1305_state *s, const uint8_t key[32]);
void tsr_poly1305_update(tsr_poly1305_state *s, const uint8_t *in, size_t len);
/* Zero-pads a waiting partial block to 16 bytes (the AEAD construction's
 * padding of AAD and ciphertext, RFC 8439 section 2.8); no-op when aligned. */
void tsr_poly1305_pad16(tsr_poly1305_state *s);
void tsr_poly1305_final(tsr_poly1305_state *s, uint8_t tag[16]); /* wipes s */

#ifdef __cplusplus
}
#endif
#endif
