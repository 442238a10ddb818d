/*
 * tsr_ghash: GHASH (NIST SP 800-38D section 6.4) by constant-time carry-less
 * multiplication built from integer multiplies of operands with holes, so
 * no table is indexed by H or the data. Four blocks per reduction with
 * H..H^4 precomputed (see tsr_ghash.c).
 */
#ifndef TSR_GHASH_H
#define TSR_GHASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  /* H, H^2, H^3, H^4: for each, its two 64-bit halves, their XOR and the
   * bit reversals of those three, each split into 4 masked parts (768 bytes:
   * the multiplies then need no masking of the key side). */
  uint64_t h[4 * 6 * 4];
} tsr_ghash_key;

typedef struct {
  uint64_t y[2];
  /* Scratch for the operands of the blocks being absorbed (they depend on
   * Y): kept here, and wiped with the state, rather than left on the stack. */
  uint64_t x[4][6];
  uint8_t buf[16];
  size_t fill; /* bytes buffered toward the next block */
} tsr_ghash_state;

void tsr_ghash_init_key(tsr_ghash_key *k, const uint8_t h[16]);
void tsr_ghash_start(tsr_ghash_state *s);
/* Absorbs bytes; a partial block waits in buf for more bytes. */
void tsr_ghash_update(tsr_ghash_state *s, const tsr_ghash_key *k, const uint8_t *in, size_t len);
/* Zero-pads and absorbs a waiting partial block (end of AAD, end of ciphertext). */
void tsr_ghash_pad(tsr_ghash_state *s, const tsr_ghash_key *k);
/* Writes Y (the GHASH value); call after a final pad (a partial block still
 * waiting is not included). Wipes s. */
void tsr_ghash_final(tsr_ghash_state *s, uint8_t out[16]);

#ifdef __cplusplus
}
#endif
#endif
