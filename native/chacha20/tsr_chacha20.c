/*
 * ChaCha20 core permutation (RFC 8439 section 2.3), the ChaCha20 stream
 * cipher (RFC 8439 section 2.4) and HChaCha20 (draft-irtf-cfrg-xchacha-03
 * section 2.2). Only additions, rotations and xors on 32-bit words: constant
 * time by construction.
 *
 * The quarter round is written once (CHACHA_QR) and instantiated for scalar
 * words and, in the wasm simd128 build, for u32x4 vectors that hold the same
 * word of four consecutive blocks (lane j = block counter + j).
 *
 * Secrets in memory: the state array (key words) and the keystream buffer of
 * a short last block are wiped. The working words are never address-taken,
 * so they stay in registers / wasm locals (wiping them would force them into
 * linear memory, and cost 2-3x in speed).
 */
#include "tsr_chacha20.h"

#include <string.h>

#include "../util/tsr_util.h"

#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))

/* RFC 8439 section 2.1, with the rotation as a parameter (scalar or vector). */
#define CHACHA_QR(a, b, c, d, ROTL) \
  do {                              \
    a += b;                         \
    d ^= a;                         \
    d = ROTL(d, 16);                \
    c += d;                         \
    b ^= c;                         \
    b = ROTL(b, 12);                \
    a += b;                         \
    d ^= a;                         \
    d = ROTL(d, 8);                 \
    c += d;                         \
    b ^= c;                         \
    b = ROTL(b, 7);                 \
  } while (0)

/* One double round (section 2.3): column rounds then diagonal rounds. */
#define CHACHA_DOUBLE_ROUND(x, ROTL)           \
  do {                                         \
    CHACHA_QR(x[0], x[4], x[8], x[12], ROTL);  \
    CHACHA_QR(x[1], x[5], x[9], x[13], ROTL);  \
    CHACHA_QR(x[2], x[6], x[10], x[14], ROTL); \
    CHACHA_QR(x[3], x[7], x[11], x[15], ROTL); \
    CHACHA_QR(x[0], x[5], x[10], x[15], ROTL); \
    CHACHA_QR(x[1], x[6], x[11], x[12], ROTL); \
    CHACHA_QR(x[2], x[7], x[8], x[13], ROTL);  \
    CHACHA_QR(x[3], x[4], x[9], x[14], ROTL);  \
  } while (0)

/* 20 rounds = 10 double rounds. */
static void chacha20_rounds(uint32_t x[16]) {
  for (int i = 0; i < 10; i++) CHACHA_DOUBLE_ROUND(x, ROTL32);
}

/* The initial state of section 2.3: constants, key, counter, nonce. */
static void chacha20_init_state(uint32_t st[16], const uint8_t key[32], const uint8_t nonce[12], uint32_t counter) {
  /* "expand 32-byte k" */
  st[0] = 0x61707865u;
  st[1] = 0x3320646eu;
  st[2] = 0x79622d32u;
  st[3] = 0x6b206574u;
  for (int i = 0; i < 8; i++) st[4 + i] = tsr_load32_le(key + 4 * i);
  st[12] = counter;
  for (int i = 0; i < 3; i++) st[13 + i] = tsr_load32_le(nonce + 4 * i);
}

/* Section 2.3.1: the keystream block is rounds(state) + state. Full blocks
 * are XORed straight from the working words, which never have their address
 * taken: the compiler keeps them in registers (wasm locals), out of memory. */
static inline void chacha20_block_xor64(uint8_t *out, const uint8_t *in, const uint32_t st[16]) {
  uint32_t x[16];
  for (int i = 0; i < 16; i++) x[i] = st[i];
  chacha20_rounds(x);
  for (int i = 0; i < 16; i++) tsr_store32_le(out + 4 * i, tsr_load32_le(in + 4 * i) ^ (x[i] + st[i]));
}

/* A short last block goes through a keystream buffer in memory, wiped after. */
static void chacha20_block_xor_tail(uint8_t *out, const uint8_t *in, size_t n, const uint32_t st[16]) {
  uint8_t ks[64];
  uint32_t x[16];
  for (int i = 0; i < 16; i++) x[i] = st[i];
  chacha20_rounds(x);
  for (int i = 0; i < 16; i++) tsr_store32_le(ks + 4 * i, x[i] + st[i]);
  for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(in[i] ^ ks[i]);
  tsr_memzero(ks, sizeof ks);
}

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

typedef uint32_t u32x4 __attribute__((vector_size(16)));

/* Rotation by 16 swaps the 16-bit halves of each lane: one shuffle (engines
 * lower it to pshuflw/pshufhw on x64) instead of two shifts and an or. The
 * byte rotation by 8 would need a pshufb whose mask V8 rematerializes at
 * every use, which measured ~14% slower than shifts, so 12, 8 and 7 use the
 * generic ROTL32 on vectors. */
static inline u32x4 vrot16(u32x4 v) {
  return (u32x4)wasm_i8x16_shuffle((v128_t)v, (v128_t)v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}
#define VROTL(v, n) ((n) == 16 ? vrot16(v) : ROTL32(v, n))

/* Four blocks (counters st[12] .. st[12] + 3) XORed into 256 bytes of in. */
static void chacha20_xor4(uint8_t *out, const uint8_t *in, const uint32_t st[16]) {
  const u32x4 lanes = {0, 1, 2, 3}; /* counter + j, wrapping mod 2^32 like the scalar counter */
  u32x4 x[16];
  for (int i = 0; i < 16; i++) x[i] = (u32x4)wasm_i32x4_splat((int32_t)st[i]);
  x[12] += lanes;
  for (int i = 0; i < 10; i++) CHACHA_DOUBLE_ROUND(x, VROTL);
  /* Feed-forward from st (re-read, rather than keeping 16 more vectors live). */
  for (int i = 0; i < 16; i++) x[i] += (u32x4)wasm_i32x4_splat((int32_t)st[i]);
  x[12] += lanes;
  /* Transpose each group of four words so that each vector holds 16
   * consecutive keystream bytes of one block, then XOR. */
  for (int g = 0; g < 4; g++) {
    v128_t a = (v128_t)x[4 * g], b = (v128_t)x[4 * g + 1], c = (v128_t)x[4 * g + 2], d = (v128_t)x[4 * g + 3];
    v128_t t0 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5);
    v128_t t2 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);
    v128_t k0 = wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5), k1 = wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7);
    v128_t k2 = wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5), k3 = wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7);
    const uint8_t *p = in + 16 * g;
    uint8_t *q = out + 16 * g;
    wasm_v128_store(q, wasm_v128_xor(wasm_v128_load(p), k0));
    wasm_v128_store(q + 64, wasm_v128_xor(wasm_v128_load(p + 64), k1));
    wasm_v128_store(q + 128, wasm_v128_xor(wasm_v128_load(p + 128), k2));
    wasm_v128_store(q + 192, wasm_v128_xor(wasm_v128_load(p + 192), k3));
  }
}
#endif

void tsr_chacha20_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32], const uint8_t nonce[12],
                      uint32_t counter) {
  uint32_t st[16];
  chacha20_init_state(st, key, nonce, counter);
#if defined(__wasm_simd128__)
  for (; len >= 256; len -= 256, in += 256, out += 256) {
    chacha20_xor4(out, in, st);
    st[12] += 4;
  }
#endif
  /* st[12] is the block counter (section 2.4); it never wraps (caller's bound). */
  for (; len >= 64; len -= 64, in += 64, out += 64, st[12]++) chacha20_block_xor64(out, in, st);
  if (len > 0) chacha20_block_xor_tail(out, in, len, st);
  tsr_memzero(st, sizeof st);
}

void tsr_hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t nonce16[16]) {
  uint32_t x[16];
  /* Same initial state as ChaCha20, with the 16 nonce bytes in words 12..15. */
  x[0] = 0x61707865u;
  x[1] = 0x3320646eu;
  x[2] = 0x79622d32u;
  x[3] = 0x6b206574u;
  for (int i = 0; i < 8; i++) x[4 + i] = tsr_load32_le(key + 4 * i);
  for (int i = 0; i < 4; i++) x[12 + i] = tsr_load32_le(nonce16 + 4 * i);
  chacha20_rounds(x);
  /* HChaCha20 omits the feed-forward and outputs words 0..3 and 12..15. */
  for (int i = 0; i < 4; i++) tsr_store32_le(out + 4 * i, x[i]);
  for (int i = 0; i < 4; i++) tsr_store32_le(out + 16 + 4 * i, x[12 + i]);
  tsr_memzero(x, sizeof x);
}
