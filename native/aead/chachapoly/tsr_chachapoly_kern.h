/*
 * ChaCha20-Poly1305 (RFC 8439 section 2.8) on tessera's own x86-64 kernels.
 *
 * ChaCha20 kernels (one file per tier: chacha20_avx2.c 8 blocks in
 * parallel, chacha20_avx512.c 16 blocks) and Poly1305 kernels
 * (poly1305_scalar64.c radix 2^44/2^64 for short inputs, poly1305_avx2.c
 * radix 2^26, poly1305_ifma.c radix 2^44 with AVX512-IFMA) are composed
 * into the AEAD once for every tier by tsr_chachapoly_kern.c.
 * XChaCha20-Poly1305 is HChaCha20 (native/chacha20/tsr_chacha20.h) plus this,
 * done by the caller. The Poly1305 state (r, s, powers of r, accumulator)
 * lives in memory the caller allocates with tsr_secmem.
 */
#ifndef TSR_CHACHAPOLY_KERN_H
#define TSR_CHACHAPOLY_KERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *name; /* "avx2", "avx512" */
  /* out = in XOR ChaCha20 keystream (RFC 8439 section 2.4) from block
   * `counter`; out may equal in; any alignment; the counter must not wrap
   * (the caller checks len <= 2^38 - 64). */
  void (*xor_stream)(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32], const uint8_t nonce[12],
                     uint32_t counter);
} tsr_chacha20_impl;

/* Poly1305 state of every tier, sized for the widest (powers of r). */
typedef struct {
  uint64_t w[112];
} tsr_poly1305_kstate;

typedef struct {
  const char *name; /* "scalar64", "avx2", "ifma" */
  void (*init)(tsr_poly1305_kstate *s, const uint8_t key[32]);
  void (*update)(tsr_poly1305_kstate *s, const uint8_t *in, size_t len);
  /* Zero-pads a waiting partial block (RFC 8439 section 2.8 padding). */
  void (*pad16)(tsr_poly1305_kstate *s);
  void (*final)(tsr_poly1305_kstate *s, uint8_t tag[16]); /* wipes s */
} tsr_poly1305_impl;

extern const tsr_chacha20_impl tsr_chacha20_avx2;
extern const tsr_chacha20_impl tsr_chacha20_avx512;
extern const tsr_poly1305_impl tsr_poly1305_scalar64;
extern const tsr_poly1305_impl tsr_poly1305_avx2;
extern const tsr_poly1305_impl tsr_poly1305_ifma;

/* out = ct || tag (len + 16 bytes); out may equal pt. ps is scratch for the
 * Poly1305 state (secure memory, wiped on return). */
void tsr_chachapoly_kern_seal(const tsr_chacha20_impl *c, const tsr_poly1305_impl *p, tsr_poly1305_kstate *ps,
                              const uint8_t key[32], uint8_t *out, const uint8_t nonce[12], const uint8_t *pt,
                              size_t len, const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2);
/* 0 and the plaintext in out, or -1 on a tag mismatch with out zeroed
 * (long inputs are decrypted piece by piece while they are in cache, before
 * the tag over the whole ciphertext is known; on a mismatch every byte of
 * out is overwritten with zeros). out may equal ct. */
int tsr_chachapoly_kern_open(const tsr_chacha20_impl *c, const tsr_poly1305_impl *p, tsr_poly1305_kstate *ps,
                             const uint8_t key[32], uint8_t *out, const uint8_t nonce[12], const uint8_t *ct,
                             size_t len, const uint8_t tag[16], const uint8_t *a1, size_t l1, const uint8_t *a2,
                             size_t l2);

#ifdef __cplusplus
}
#endif
#endif
