/*
 * ChaCha20 core permutation (RFC 8439 section 2.3) and HChaCha20
 * (draft-irtf-cfrg-xchacha-03 section 2.2). Only additions, rotations and
 * xors on 32-bit words: constant time by construction.
 */
#include "tsr_chacha20.h"

#include "tsr_util.h"

#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d)                   \
  a += b; d ^= a; d = ROTL32(d, 16);     \
  c += d; b ^= c; b = ROTL32(b, 12);     \
  a += b; d ^= a; d = ROTL32(d, 8);      \
  c += d; b ^= c; b = ROTL32(b, 7)

/* 20 rounds = 10 double rounds of column then diagonal quarter rounds. */
static void chacha20_rounds(uint32_t x[16]) {
  for (int i = 0; i < 10; i++) {
    QR(x[0], x[4], x[8], x[12]);
    QR(x[1], x[5], x[9], x[13]);
    QR(x[2], x[6], x[10], x[14]);
    QR(x[3], x[7], x[11], x[15]);
    QR(x[0], x[5], x[10], x[15]);
    QR(x[1], x[6], x[11], x[12]);
    QR(x[2], x[7], x[8], x[13]);
    QR(x[3], x[4], x[9], x[14]);
  }
}

void tsr_hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t nonce16[16]) {
  uint32_t x[16];
  /* "expand 32-byte k" (RFC 8439 section 2.3). */
  x[0] = 0x61707865u; x[1] = 0x3320646eu; x[2] = 0x79622d32u; x[3] = 0x6b206574u;
  for (int i = 0; i < 8; i++) x[4 + i] = tsr_load32_le(key + 4 * i);
  for (int i = 0; i < 4; i++) x[12 + i] = tsr_load32_le(nonce16 + 4 * i);
  chacha20_rounds(x);
  /* HChaCha20 omits the feed-forward and outputs words 0..3 and 12..15. */
  for (int i = 0; i < 4; i++) tsr_store32_le(out + 4 * i, x[i]);
  for (int i = 0; i < 4; i++) tsr_store32_le(out + 16 + 4 * i, x[12 + i]);
  tsr_memzero(x, sizeof x);
}
