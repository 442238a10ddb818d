/*
 * ChaCha20-Poly1305 AEAD (RFC 8439 section 2.8) on tsr_chacha20_xor and
 * tsr_poly1305:
 *   otk = first 32 bytes of ChaCha20(key, nonce, counter 0)   (section 2.6)
 *   ct  = ChaCha20(key, nonce, counter 1) XOR pt               (section 2.4)
 *   tag = Poly1305(otk, aad || pad16 || ct || pad16 || le64(|aad|) || le64(|ct|))
 * with aad = aad1 || aad2 as one string (padded once). Open computes and
 * checks the tag (constant-time compare) before it decrypts anything.
 */
#include "tsr_chachapoly.h"

#include <string.h>

#include "../../../chacha20/tsr_chacha20.h"
#include "tsr_poly1305.h"
#include "../../../util/tsr_util.h"

/* Seal encrypts and authenticates in slices that stay in cache between the
 * two passes; a multiple of the 64-byte ChaCha20 block. */
#define SLICE 4096u

/* Section 2.6: the one-time Poly1305 key, then the AAD and its padding. */
static void mac_begin(tsr_poly1305_state *ps, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad1,
                      size_t aad1len, const uint8_t *aad2, size_t aad2len) {
  uint8_t otk[32];
  memset(otk, 0, sizeof otk);
  tsr_chacha20_xor(otk, otk, sizeof otk, key, nonce, 0);
  tsr_poly1305_init(ps, otk);
  tsr_memzero(otk, sizeof otk);
  tsr_poly1305_update(ps, aad1, aad1len);
  tsr_poly1305_update(ps, aad2, aad2len);
  tsr_poly1305_pad16(ps);
}

/* Section 2.8: pad the ciphertext, append both lengths as le64, finish. */
static void mac_end(tsr_poly1305_state *ps, uint64_t aadlen, uint64_t ctlen, uint8_t tag[16]) {
  uint8_t lens[16];
  tsr_poly1305_pad16(ps);
  tsr_store64_le(lens, aadlen);
  tsr_store64_le(lens + 8, ctlen);
  tsr_poly1305_update(ps, lens, sizeof lens);
  tsr_poly1305_final(ps, tag); /* wipes ps */
}

void tsr_chachapoly_seal(const uint8_t key[32], uint8_t *out, const uint8_t nonce[12], const uint8_t *pt, size_t ptlen,
                         const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len) {
  tsr_poly1305_state ps;
  uint8_t tag[16];
  mac_begin(&ps, key, nonce, aad1, aad1len, aad2, aad2len);
  uint32_t counter = 1;
  for (size_t off = 0; off < ptlen; off += SLICE, counter += SLICE / 64) {
    size_t n = ptlen - off < SLICE ? ptlen - off : SLICE;
    tsr_chacha20_xor(out + off, pt + off, n, key, nonce, counter);
    tsr_poly1305_update(&ps, out + off, n);
  }
  mac_end(&ps, (uint64_t)aad1len + aad2len, (uint64_t)ptlen, tag);
  memcpy(out + ptlen, tag, sizeof tag);
  tsr_memzero(tag, sizeof tag);
}

int tsr_chachapoly_open(const uint8_t key[32], uint8_t *out, const uint8_t nonce[12], const uint8_t *ct, size_t ctlen,
                        const uint8_t tag[16], const uint8_t *aad1, size_t aad1len, const uint8_t *aad2,
                        size_t aad2len) {
  tsr_poly1305_state ps;
  uint8_t want[16];
  mac_begin(&ps, key, nonce, aad1, aad1len, aad2, aad2len);
  tsr_poly1305_update(&ps, ct, ctlen);
  mac_end(&ps, (uint64_t)aad1len + aad2len, (uint64_t)ctlen, want);
  int ok = tsr_ct_compare(want, tag, sizeof want);
  tsr_memzero(want, sizeof want);
  if (ok != 0) return -1; /* nothing written to out */
  tsr_chacha20_xor(out, ct, ctlen, key, nonce, 1);
  return 0;
}
