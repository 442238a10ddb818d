/*
 * tsr_aes: AES-128 / AES-256 encryption (FIPS 197) in constant time, for the
 * software backend (native/soft) that the WASM module runs.
 *
 * Bitsliced: the S-box is a boolean circuit evaluated on bit planes, so no
 * table is indexed by key or data and no branch depends on them. Only the
 * forward cipher exists: GCM (CTR + GHASH) and the XAES-256-GCM key
 * derivation never decrypt a block. 4 blocks per pass on 64-bit words, 8
 * with -msimd128 (two 64-bit lanes); shorter inputs are padded internally.
 */
#ifndef TSR_AES_H
#define TSR_AES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  /* Bitsliced round keys, rounds + 1 of them: 8 bit planes each, the round
   * key replicated over 4 blocks, stored ShiftRows-rotated for the fixsliced
   * rounds and with the S-box constant folded in (see tsr_aes.c). */
  uint64_t rk[15 * 8];
  unsigned rounds; /* 10 (AES-128) or 14 (AES-256) */
} tsr_aes_key;

/* keylen is 16 or 32 (the caller checks). */
void tsr_aes_init(tsr_aes_key *k, const uint8_t *key, size_t keylen);
/* n independent 16-byte blocks (ECB); out may equal in. */
void tsr_aes_encrypt_blocks(const tsr_aes_key *k, uint8_t *out, const uint8_t *in, size_t nblocks);
/*
 * GCTR of NIST SP 800-38D section 6.5: out = in XOR AES(iv || ctr),
 * AES(iv || ctr + 1), ... with the counter as a 32-bit big-endian word that
 * wraps mod 2^32 (inc32). len is any length; out may equal in.
 */
void tsr_aes_ctr32(const tsr_aes_key *k, uint8_t *out, const uint8_t *in, size_t len, const uint8_t iv[12],
                   uint32_t ctr);
/* The AES S-box (FIPS 197 section 5.1.1) applied to n bytes by the same
 * bitsliced circuit the cipher uses; exposed for the tests. */
void tsr_aes_sbox_bytes(uint8_t *out, const uint8_t *in, size_t n);

#ifdef __cplusplus
}
#endif
#endif
