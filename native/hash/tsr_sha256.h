/*
 * SHA-256 (FIPS 180-4 section 6.2), HMAC-SHA-256 (RFC 2104) and HKDF-SHA-256
 * (RFC 5869) in portable C, the SHA-256 counterparts of tsr_sha512.h (blind
 * indexes and key derivation of the key manager run on both backends).
 */
#ifndef TSR_SHA256_H
#define TSR_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_SHA256_BYTES 32u
#define TSR_SHA256_BLOCK 64u

typedef struct {
  uint32_t h[8];
  uint8_t buf[TSR_SHA256_BLOCK];
  size_t fill;
  uint64_t total;
} tsr_sha256_state;

void tsr_sha256_init(tsr_sha256_state *s);
void tsr_sha256_update(tsr_sha256_state *s, const uint8_t *in, size_t len);
void tsr_sha256_final(tsr_sha256_state *s, uint8_t out[32]); /* wipes s */
void tsr_sha256(uint8_t out[32], const uint8_t *in, size_t len);

typedef struct {
  tsr_sha256_state inner, outer;
} tsr_hmac_sha256_state;

void tsr_hmac_sha256_init(tsr_hmac_sha256_state *s, const uint8_t *key, size_t keylen);
void tsr_hmac_sha256_update(tsr_hmac_sha256_state *s, const uint8_t *in, size_t len);
void tsr_hmac_sha256_final(tsr_hmac_sha256_state *s, uint8_t out[32]); /* wipes s */
void tsr_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *in, size_t len);

/* HKDF-Extract (RFC 5869 section 2.2): prk = HMAC(salt, ikm); an empty salt is 32 zero bytes. */
void tsr_hkdf_sha256_extract(uint8_t prk[32], const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen);
/* HKDF-Expand (section 2.3); outlen <= 255 * 32. Returns 0, or -1 if outlen is too big. */
int tsr_hkdf_sha256_expand(uint8_t *out, size_t outlen, const uint8_t *prk, size_t prklen, const uint8_t *info,
                           size_t infolen);

#ifdef __cplusplus
}
#endif
#endif
