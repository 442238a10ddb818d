/*
 * SHA-512 (FIPS 180-4 section 6.4), HMAC-SHA-512 (RFC 2104) and
 * HKDF-SHA-512-Expand (RFC 5869 section 2.3), in portable C for both builds:
 * the Cobblestone key derivation runs the same code in the addon and in the
 * WASM module. No table lookup or branch depends on the
 * data: SHA-2 is constant-time by construction.
 */
#ifndef TSR_SHA512_H
#define TSR_SHA512_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_SHA512_BYTES 64u
#define TSR_SHA512_BLOCK 128u

typedef struct {
  uint64_t h[8];
  uint8_t buf[TSR_SHA512_BLOCK];
  size_t fill;
  uint64_t total; /* bytes hashed; 2^64 bytes is far beyond any input here */
} tsr_sha512_state;

void tsr_sha512_init(tsr_sha512_state *s);
void tsr_sha512_update(tsr_sha512_state *s, const uint8_t *in, size_t len);
void tsr_sha512_final(tsr_sha512_state *s, uint8_t out[64]); /* wipes s */
void tsr_sha512(uint8_t out[64], const uint8_t *in, size_t len);

typedef struct {
  tsr_sha512_state inner, outer;
} tsr_hmac_sha512_state;

void tsr_hmac_sha512_init(tsr_hmac_sha512_state *s, const uint8_t *key, size_t keylen);
void tsr_hmac_sha512_update(tsr_hmac_sha512_state *s, const uint8_t *in, size_t len);
void tsr_hmac_sha512_final(tsr_hmac_sha512_state *s, uint8_t out[64]); /* wipes s */

/*
 * HKDF-Expand(PRK, info, L) with SHA-512; info is info1 || info2 (the
 * Cobblestone info is a fixed prefix plus the caller's context, hashed
 * without a copy). outlen <= 255 * 64. Returns 0, or -1 if outlen is too big.
 */
int tsr_hkdf_sha512_expand(uint8_t *out, size_t outlen, const uint8_t *prk, size_t prklen, const uint8_t *info1,
                           size_t info1len, const uint8_t *info2, size_t info2len);

#ifdef __cplusplus
}
#endif
#endif
