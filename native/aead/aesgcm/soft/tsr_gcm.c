/*
 * AES-GCM (NIST SP 800-38D section 7) with a 96-bit IV and a 128-bit tag:
 *   H = CIPH_K(0^128), J0 = IV || 0^31 || 1                 (7.1 steps 1-2)
 *   C = GCTR_K(inc32(J0), P)                                (step 3)
 *   S = GHASH_H(A || 0^v || C || 0^u || [len(A)]64 || [len(C)]64)  (steps 4-5)
 *   T = GCTR_K(J0, S)                                       (step 6)
 * with A = aad1 || aad2 hashed as one string. Decryption (7.2) computes T
 * from C first and compares it in constant time before writing any byte
 * of plaintext.
 */
#include "tsr_gcm.h"

#include <string.h>

#include "../../../util/tsr_util.h"

/* Bytes of data encrypted per step of seal before they are hashed, so the
 * ciphertext is still in cache when GHASH reads it (a multiple of 128). */
#define STEP 2048
/* The first data blocks share an AES pass with E(J0): 7 blocks + J0 = 8. */
#define HEAD 112

void tsr_gcm_init(tsr_gcm_key *k, const uint8_t *key, size_t keylen) {
  uint8_t h[16] = {0};
  tsr_aes_init(&k->aes, key, keylen);
  tsr_aes_encrypt_blocks(&k->aes, h, h, 1);
  tsr_ghash_init_key(&k->ghash, h);
  tsr_memzero(h, sizeof h);
}

static void hash_aad(tsr_ghash_state *s, const tsr_ghash_key *k, const uint8_t *aad1, size_t aad1len,
                     const uint8_t *aad2, size_t aad2len) {
  tsr_ghash_start(s);
  if (aad1len) tsr_ghash_update(s, k, aad1, aad1len);
  if (aad2len) tsr_ghash_update(s, k, aad2, aad2len);
  tsr_ghash_pad(s, k);
}

/* Pads the ciphertext, absorbs the lengths block, and returns
 * tag = S XOR ks0 where ks0 = E_K(J0). */
static void finish_tag(tsr_ghash_state *s, const tsr_ghash_key *k, uint64_t aadlen, uint64_t ctlen,
                       const uint8_t ks0[16], uint8_t tag[16]) {
  uint8_t lens[16];
  tsr_ghash_pad(s, k);
  tsr_store64_be(lens, aadlen * 8);
  tsr_store64_be(lens + 8, ctlen * 8);
  tsr_ghash_update(s, k, lens, 16);
  tsr_ghash_final(s, tag);
  for (int i = 0; i < 16; i++) tag[i] ^= ks0[i];
}

void tsr_gcm_seal(const tsr_gcm_key *k, uint8_t *out, const uint8_t nonce[12], const uint8_t *pt, size_t ptlen,
                  const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len) {
  tsr_ghash_state s;
  uint8_t head[16 + HEAD], tag[16];
  hash_aad(&s, &k->ghash, aad1, aad1len, aad2, aad2len);

  /* One CTR pass from counter 1: block 0 is E(J0), the rest encrypt the
   * first HEAD bytes of plaintext (counters 2, 3, ...). */
  size_t h = ptlen < HEAD ? ptlen : HEAD;
  __builtin_memset(head, 0, 16);
  if (h) __builtin_memcpy(head + 16, pt, h);
  tsr_aes_ctr32(&k->aes, head, head, 16 + h, nonce, 1);
  if (h) __builtin_memcpy(out, head + 16, h);
  tsr_ghash_update(&s, &k->ghash, out, h);

  uint32_t ctr = 2 + HEAD / 16;
  for (size_t off = h; off < ptlen;) {
    size_t n = ptlen - off < STEP ? ptlen - off : STEP;
    tsr_aes_ctr32(&k->aes, out + off, pt + off, n, nonce, ctr);
    tsr_ghash_update(&s, &k->ghash, out + off, n);
    ctr += STEP / 16;
    off += n;
  }
  finish_tag(&s, &k->ghash, (uint64_t)aad1len + aad2len, ptlen, head, tag);
  __builtin_memcpy(out + ptlen, tag, 16);
  tsr_memzero(head, sizeof head);
  tsr_memzero(tag, sizeof tag);
}

int tsr_gcm_open(const tsr_gcm_key *k, uint8_t *out, const uint8_t nonce[12], const uint8_t *ct, size_t ctlen,
                 const uint8_t tag[16], const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len) {
  tsr_ghash_state s;
  uint8_t ks[16 + HEAD], want[16];
  hash_aad(&s, &k->ghash, aad1, aad1len, aad2, aad2len);
  tsr_ghash_update(&s, &k->ghash, ct, ctlen);

  /* Keystream for J0 and the first HEAD bytes, one pass; nothing is
   * written to out until the tag has been checked. */
  size_t h = ctlen < HEAD ? ctlen : HEAD;
  __builtin_memset(ks, 0, 16 + h);
  tsr_aes_ctr32(&k->aes, ks, ks, 16 + h, nonce, 1);
  finish_tag(&s, &k->ghash, (uint64_t)aad1len + aad2len, ctlen, ks, want);
  int ok = tsr_ct_compare(want, tag, 16);
  tsr_memzero(want, sizeof want);
  if (ok != 0) {
    tsr_memzero(ks, sizeof ks);
    return -1;
  }
  for (size_t i = 0; i < h; i++) out[i] = (uint8_t)(ct[i] ^ ks[16 + i]);
  if (ctlen > h) tsr_aes_ctr32(&k->aes, out + h, ct + h, ctlen - h, nonce, 2 + HEAD / 16);
  tsr_memzero(ks, sizeof ks);
  return 0;
}
