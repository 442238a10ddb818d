/* Constant time: no branch or index on secret data; the tag is compared with tsr_ct_compare. */
/*
 * ChaCha20-Poly1305 (RFC 8439 section 2.8) composed once from any ChaCha20
 * tier and any Poly1305 tier (tsr_chachapoly_kern.h):
 *   otk = first 32 bytes of ChaCha20(key, nonce, counter 0)      (section 2.6)
 *   ct  = ChaCha20(key, nonce, counter 1) XOR pt                 (section 2.4)
 *   tag = Poly1305(otk, aad || pad16 || ct || pad16 || le64(|aad|) || le64(|ct|))
 * with aad = a1 || a2 as one string (the split need not be 16-aligned).
 *
 * Short messages (<= SMALL bytes) take one ChaCha20 call over block 0 and
 * the message together (one latency-bound pass instead of two). Longer ones
 * run in PIECE-byte pieces so that the second pass over a piece (Poly1305
 * after encryption, decryption after Poly1305) reads it from L1/L2.
 * Open decrypts piece by piece before the tag is known, so on a mismatch it
 * zeroes out (no unauthenticated plaintext is released) and returns -1.
 */
#include "tsr_chachapoly_kern.h"

#include <string.h>

#include "../../util/tsr_util.h"

#define SMALL 192u   /* with block 0: four ChaCha20 blocks in one call */
#define PIECE 16384u /* a multiple of 64 (so pieces start on block boundaries) */

/* Section 2.8: aad, then its zero padding. */
static void mac_aad(const tsr_poly1305_impl *p, tsr_poly1305_kstate *ps, const uint8_t *a1, size_t l1,
                    const uint8_t *a2, size_t l2) {
  p->update(ps, a1, l1);
  p->update(ps, a2, l2);
  p->pad16(ps);
}

/* Section 2.8: pad the ciphertext, then le64(|aad|) || le64(|ct|); wipes ps. */
static void mac_end(const tsr_poly1305_impl *p, tsr_poly1305_kstate *ps, uint64_t aadlen, uint64_t ctlen,
                    uint8_t tag[16]) {
  uint8_t lens[16];
  p->pad16(ps);
  tsr_store64_le(lens, aadlen);
  tsr_store64_le(lens + 8, ctlen);
  p->update(ps, lens, sizeof lens);
  p->final(ps, tag);
}

/* Block 0 (counter 0) of the keystream: the Poly1305 key is its first half. */
static void mac_begin(const tsr_chacha20_impl *c, const tsr_poly1305_impl *p, tsr_poly1305_kstate *ps,
                      const uint8_t key[32], const uint8_t nonce[12]) {
  uint8_t otk[32];
  memset(otk, 0, sizeof otk);
  c->xor_stream(otk, otk, sizeof otk, key, nonce, 0);
  p->init(ps, otk);
  tsr_memzero(otk, sizeof otk);
}

void tsr_chachapoly_kern_seal(const tsr_chacha20_impl *c, const tsr_poly1305_impl *p, tsr_poly1305_kstate *ps,
                              const uint8_t key[32], uint8_t *out, const uint8_t nonce[12], const uint8_t *pt,
                              size_t len, const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2) {
  uint8_t tag[16];
  if (len <= SMALL) {
    /* buf = block 0 || message, XORed with keystream blocks 0.. at once */
    uint8_t buf[64 + SMALL];
    memset(buf, 0, 64);
    if (len) memcpy(buf + 64, pt, len);
    c->xor_stream(buf, buf, 64 + len, key, nonce, 0);
    p->init(ps, buf);
    mac_aad(p, ps, a1, l1, a2, l2);
    p->update(ps, buf + 64, len);
    if (len) memcpy(out, buf + 64, len);
    tsr_memzero(buf, 64 + len);
  } else {
    mac_begin(c, p, ps, key, nonce);
    mac_aad(p, ps, a1, l1, a2, l2);
    uint32_t counter = 1;
    for (size_t off = 0; off < len; off += PIECE, counter += PIECE / 64) {
      size_t n = len - off < PIECE ? len - off : PIECE;
      c->xor_stream(out + off, pt + off, n, key, nonce, counter);
      p->update(ps, out + off, n);
    }
  }
  mac_end(p, ps, (uint64_t)l1 + l2, (uint64_t)len, tag);
  memcpy(out + len, tag, sizeof tag);
  tsr_memzero(tag, sizeof tag);
}

int tsr_chachapoly_kern_open(const tsr_chacha20_impl *c, const tsr_poly1305_impl *p, tsr_poly1305_kstate *ps,
                             const uint8_t key[32], uint8_t *out, const uint8_t nonce[12], const uint8_t *ct,
                             size_t len, const uint8_t tag[16], const uint8_t *a1, size_t l1, const uint8_t *a2,
                             size_t l2) {
  uint8_t want[16];
  int ok;
  if (len <= SMALL) {
    /* Keystream and plaintext in buf; out is written only after the check. */
    uint8_t buf[64 + SMALL];
    memset(buf, 0, 64);
    if (len) memcpy(buf + 64, ct, len);
    c->xor_stream(buf, buf, 64 + len, key, nonce, 0);
    p->init(ps, buf);
    mac_aad(p, ps, a1, l1, a2, l2);
    p->update(ps, ct, len);
    mac_end(p, ps, (uint64_t)l1 + l2, (uint64_t)len, want);
    ok = tsr_ct_compare(want, tag, sizeof want);
    if (len) {
      if (ok == 0)
        memcpy(out, buf + 64, len);
      else
        tsr_memzero(out, len);
    }
    tsr_memzero(buf, 64 + len);
  } else {
    mac_begin(c, p, ps, key, nonce);
    mac_aad(p, ps, a1, l1, a2, l2);
    uint32_t counter = 1;
    for (size_t off = 0; off < len; off += PIECE, counter += PIECE / 64) {
      size_t n = len - off < PIECE ? len - off : PIECE;
      p->update(ps, ct + off, n); /* before out + off is written: out may equal ct */
      c->xor_stream(out + off, ct + off, n, key, nonce, counter);
    }
    mac_end(p, ps, (uint64_t)l1 + l2, (uint64_t)len, want);
    ok = tsr_ct_compare(want, tag, sizeof want);
    if (ok != 0) tsr_memzero(out, len); /* release no unauthenticated plaintext */
  }
  tsr_memzero(want, sizeof want);
  return ok == 0 ? 0 : -1;
}
