/*
 * Bitsliced, constant-time AES encryption (FIPS 197).
 *
 * State representation ("ct64"): 4 blocks are held as 8 uint64 bit planes,
 * q[i] = bit i (bit 0 = least significant) of every state byte. Inside a
 * plane, the byte at row r, column c (FIPS 197 section 3.4; input byte
 * 4c + r) of block b sits at bit 16r + 4c + b. So a whole row is 16 bits
 * and "the same column one row down" is a 16-bit rotation of the word.
 *
 * With -msimd128 the same code runs on v128 words: two such 64-bit lanes
 * side by side, i.e. 8 blocks per call (lane 0 = blocks 0..3, lane 1 =
 * blocks 4..7). Everything below the "type W" section is written once for
 * both: the S-box circuit, MixColumns, AddRoundKey, the round sequence.
 *
 * SubBytes is the depth-16 circuit of J. Boyar and R. Peralta, "A depth-16
 * circuit for the AES S-box" (IFIP SEC 2012, IACR eprint 2011/332): 128
 * gates (34 AND, 90 XOR, 4 XNOR) in a linear top layer, a shared nonlinear
 * middle (inversion through GF(2^4)) and a linear bottom layer. No table, no
 * branch on data; the test checks it on all 256 inputs against GF(2^8)
 * inversion + the affine map. (Their smaller 115-gate circuit of SEA 2010,
 * eprint 2009/191, was measured too: 8% faster on the wasm scalar build but
 * 10% slower with simd128 in V8, the build browsers run.)
 *
 * ShiftRows is "fixsliced" (A. Adomnicai and T. Peyrin, "Fixslicing AES-like
 * ciphers", TCHES 2021): it is never applied per round. After round i the
 * stored state S relates to the real one by T = ShiftRows^i(S); MixColumns
 * of round i is rewritten for that rotation (i mod 4), the round keys are
 * stored pre-rotated by ShiftRows^-(i mod 4), and a single ShiftRows^2
 * (10 and 14 are both 2 mod 4) in the last round restores the real order.
 *
 * The S-box constant 0x63 (the four NOT gates of the circuit) is folded
 * into round keys 1..Nr: a state of all-0x63 bytes is fixed by ShiftRows
 * and by MixColumns (2 + 3 + 1 + 1 = 1 in GF(2^8)), so adding it after
 * every SubBytes equals adding it to the next round key.
 */
#include "tsr_aes.h"

#include <string.h>

#include "../../../util/tsr_util.h"

#define AES_INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------------ type W */
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

typedef v128_t W;
#define NB        8 /* blocks per W[8] state */
#define WC(c)     wasm_u64x2_const_splat(c)
#define SHL(x, n) wasm_i64x2_shl((x), (n))
#define SHR(x, n) wasm_u64x2_shr((x), (n))
AES_INLINE W rk_load(const uint64_t *p) {
  return wasm_v128_load64_splat(p);
}
AES_INLINE uint64_t lane0(W x) {
  return (uint64_t)wasm_i64x2_extract_lane(x, 0);
}

/* Lane-local moves, kept to the shuffle forms engines lower to one or two
 * x86 / ARM instructions (pshuflw+pshufhw, pshufd, 16-bit shifts); a
 * general i8x16.shuffle costs a mask constant per use in V8. */
#define ROT16(x)     wasm_i16x8_shuffle((x), (x), 1, 2, 3, 0, 5, 6, 7, 4) /* rotr 16 per 64-bit lane */
#define ROT32(x)     wasm_i32x4_shuffle((x), (x), 1, 0, 3, 2)             /* rotr 32 per 64-bit lane */
/* Inside each 16-bit row: rotate by one column (4 bits) or two (a byte swap). */
#define ROW_ROTR4(x) wasm_v128_or(wasm_u16x8_shr((x), 4), wasm_i16x8_shl((x), 12))
#define ROW_ROTL4(x) wasm_v128_or(wasm_i16x8_shl((x), 4), wasm_u16x8_shr((x), 12))
#define ROW_SWAP8(x) wasm_v128_or(wasm_i16x8_shl((x), 8), wasm_u16x8_shr((x), 8))
/* rot1_k(x) at (r, c) = x at (r + 1, c + k); rot2_k at (r, c) = x at (r + 2, c + 2k). */
AES_INLINE W rot1(W x, int k) {
  switch (k) {
    case 0:
      return ROT16(x);
    case 1:
      return ROW_ROTR4(ROT16(x));
    case 2:
      return ROW_SWAP8(ROT16(x));
    default:
      return ROW_ROTL4(ROT16(x));
  }
}
AES_INLINE W rot2(W x, int k) {
  return (k & 1) ? ROW_SWAP8(ROT32(x)) : ROT32(x);
}
/* ShiftRows^2: rows 1 and 3 move by two columns (a byte swap), row 2 by four. */
AES_INLINE W shift_rows2(W x) {
  return wasm_v128_bitselect(ROW_SWAP8(x), x, wasm_i16x8_const(0, -1, 0, -1, 0, -1, 0, -1));
}

/* Bytes to planes: block b (0..3) and b + 4 give words b (columns 0 and 2)
 * and b + 4 (columns 1 and 3); byte k of a lane holds row k >> 1, column
 * 2 * (k & 1) + (word >> 2). ortho() then makes the planes. */
static void ortho(W *q);
static void load_blocks(W *q, const uint8_t *in) {
  for (int b = 0; b < 4; b++) {
    W x = wasm_v128_load(in + 16 * b), y = wasm_v128_load(in + 16 * (b + 4));
    q[b] = wasm_i8x16_shuffle(x, y, 0, 8, 1, 9, 2, 10, 3, 11, 16, 24, 17, 25, 18, 26, 19, 27);
    q[b + 4] = wasm_i8x16_shuffle(x, y, 4, 12, 5, 13, 6, 14, 7, 15, 20, 28, 21, 29, 22, 30, 23, 31);
  }
  ortho(q);
}
static void store_blocks(uint8_t *out, W *q) {
  ortho(q);
  for (int b = 0; b < 4; b++) {
    W x = q[b], y = q[b + 4];
    wasm_v128_store(out + 16 * b, wasm_i8x16_shuffle(x, y, 0, 2, 4, 6, 16, 18, 20, 22, 1, 3, 5, 7, 17, 19, 21, 23));
    wasm_v128_store(out + 16 * (b + 4),
                    wasm_i8x16_shuffle(x, y, 8, 10, 12, 14, 24, 26, 28, 30, 9, 11, 13, 15, 25, 27, 29, 31));
  }
}

#else /* portable 64-bit */

typedef uint64_t W;
#define NB        4
static inline uint64_t rotr64(uint64_t x, unsigned n) {
  return (x >> n) | (x << (64 - n));
}
#define WC(c)     ((uint64_t)(c))
#define SHL(x, n) ((x) << (n))
#define SHR(x, n) ((x) >> (n))
AES_INLINE W rk_load(const uint64_t *p) {
  return *p;
}
AES_INLINE uint64_t lane0(W x) {
  return x;
}

/* Same maps as the simd128 shuffles, as rotations and masks. */
AES_INLINE W rot1(W x, int k) {
  switch (k) {
    case 0:
      return rotr64(x, 16);
    case 1:
      return (rotr64(x, 20) & 0x0FFF0FFF0FFF0FFFull) | (rotr64(x, 4) & 0xF000F000F000F000ull);
    case 2:
      return (rotr64(x, 24) & 0x00FF00FF00FF00FFull) | (rotr64(x, 8) & 0xFF00FF00FF00FF00ull);
    default:
      return (rotr64(x, 28) & 0x000F000F000F000Full) | (rotr64(x, 12) & 0xFFF0FFF0FFF0FFF0ull);
  }
}
AES_INLINE W rot2(W x, int k) {
  if (k & 1) return (rotr64(x, 40) & 0x00FF00FF00FF00FFull) | (rotr64(x, 24) & 0xFF00FF00FF00FF00ull);
  return rotr64(x, 32);
}
AES_INLINE W shift_rows2(W x) {
  return (x & 0x0000FFFF0000FFFFull) | ((x >> 8) & 0x00FF000000FF0000ull) | ((x << 8) & 0xFF000000FF000000ull);
}

/* In a 64-bit word of bytes a0..a7: swap 16-bit units 1 and 2, then bytes
 * 1<->2 and 5<->6, giving a0 a4 a1 a5 a2 a6 a3 a7 (each step an involution). */
static inline uint64_t spread(uint64_t x) {
  uint64_t t = ((x >> 16) ^ x) & 0x00000000FFFF0000ull;
  x ^= t ^ (t << 16);
  t = ((x >> 8) ^ x) & 0x0000FF000000FF00ull;
  return x ^ t ^ (t << 8);
}
static inline uint64_t unspread(uint64_t x) {
  uint64_t t = ((x >> 8) ^ x) & 0x0000FF000000FF00ull;
  x ^= t ^ (t << 8);
  t = ((x >> 16) ^ x) & 0x00000000FFFF0000ull;
  return x ^ t ^ (t << 16);
}
#define EVEN8     0x00FF00FF00FF00FFull
static void ortho(W *q);
static void load_blocks(W *q, const uint8_t *in) {
  for (int b = 0; b < 4; b++) {
    uint64_t x = spread(tsr_load64_le(in + 16 * b)), y = spread(tsr_load64_le(in + 16 * b + 8));
    q[b] = (x & EVEN8) | ((y & EVEN8) << 8);      /* columns 0, 2 */
    q[b + 4] = ((x >> 8) & EVEN8) | (y & ~EVEN8); /* columns 1, 3 */
  }
  ortho(q);
}
static void store_blocks(uint8_t *out, W *q) {
  ortho(q);
  for (int b = 0; b < 4; b++) {
    uint64_t x = (q[b] & EVEN8) | ((q[b + 4] & EVEN8) << 8);
    uint64_t y = ((q[b] >> 8) & EVEN8) | (q[b + 4] & ~EVEN8);
    tsr_store64_le(out + 16 * b, unspread(x));
    tsr_store64_le(out + 16 * b + 8, unspread(y));
  }
}
#endif

/* ------------------------------------------------- generic over W from here */

/* 8x8 bit transposition in every byte position: afterwards bit 8k + j of
 * word i is bit i of byte k of input word j (and back: an involution). */
#define SWAPMOVE(a, b, n, m)              \
  do {                                    \
    W t_ = (SHR((a), (n)) ^ (b)) & WC(m); \
    (b) ^= t_;                            \
    (a) ^= SHL(t_, (n));                  \
  } while (0)
static void ortho(W *q) {
  for (int j = 0; j < 8; j += 2) SWAPMOVE(q[j], q[j + 1], 1, 0x5555555555555555ull);
  static const int pairs2[4] = {0, 1, 4, 5};
  for (int j = 0; j < 4; j++) SWAPMOVE(q[pairs2[j]], q[pairs2[j] + 2], 2, 0x3333333333333333ull);
  for (int j = 0; j < 4; j++) SWAPMOVE(q[j], q[j + 4], 4, 0x0F0F0F0F0F0F0F0Full);
}

/*
 * SubBytes without its affine constant (see the top comment): the
 * Boyar-Peralta depth-16 circuit, its four XNOR gates written as XOR.
 * U0 / S0 is the most significant bit, i.e. plane 7. T = top linear layer,
 * M = middle (nonlinear) layer, L = bottom linear layer, as in the paper.
 */
AES_INLINE void sub_bytes(W *q) {
  const W U0 = q[7], U1 = q[6], U2 = q[5], U3 = q[4], U4 = q[3], U5 = q[2], U6 = q[1], U7 = q[0];
  const W T1 = U0 ^ U3, T2 = U0 ^ U5, T3 = U0 ^ U6, T4 = U3 ^ U5, T5 = U4 ^ U6;
  const W T6 = T1 ^ T5, T7 = U1 ^ U2, T8 = U7 ^ T6, T9 = U7 ^ T7, T10 = T6 ^ T7;
  const W T11 = U1 ^ U5, T12 = U2 ^ U5, T13 = T3 ^ T4, T14 = T6 ^ T11, T15 = T5 ^ T11;
  const W T16 = T5 ^ T12, T17 = T9 ^ T16, T18 = U3 ^ U7, T19 = T7 ^ T18, T20 = T1 ^ T19;
  const W T21 = U6 ^ U7, T22 = T7 ^ T21, T23 = T2 ^ T22, T24 = T2 ^ T10, T25 = T20 ^ T17;
  const W T26 = T3 ^ T16, T27 = T1 ^ T12;

  const W M1 = T13 & T6, M2 = T23 & T8, M3 = T14 ^ M1, M4 = T19 & U7, M5 = M4 ^ M1;
  const W M6 = T3 & T16, M7 = T22 & T9, M8 = T26 ^ M6, M9 = T20 & T17, M10 = M9 ^ M6;
  const W M11 = T1 & T15, M12 = T4 & T27, M13 = M12 ^ M11, M14 = T2 & T10, M15 = M14 ^ M11;
  const W M16 = M3 ^ M2, M17 = M5 ^ T24, M18 = M8 ^ M7, M19 = M10 ^ M15, M20 = M16 ^ M13;
  const W M21 = M17 ^ M15, M22 = M18 ^ M13, M23 = M19 ^ T25, M24 = M22 ^ M23, M25 = M22 & M20;
  const W M26 = M21 ^ M25, M27 = M20 ^ M21, M28 = M23 ^ M25, M29 = M28 & M27, M30 = M26 & M24;
  const W M31 = M20 & M23, M32 = M27 & M31, M33 = M27 ^ M25, M34 = M21 & M22, M35 = M24 & M34;
  const W M36 = M24 ^ M25, M37 = M21 ^ M29, M38 = M32 ^ M33, M39 = M23 ^ M30, M40 = M35 ^ M36;
  const W M41 = M38 ^ M40, M42 = M37 ^ M39, M43 = M37 ^ M38, M44 = M39 ^ M40, M45 = M42 ^ M41;
  const W M46 = M44 & T6, M47 = M40 & T8, M48 = M39 & U7, M49 = M43 & T16, M50 = M38 & T9;
  const W M51 = M37 & T17, M52 = M42 & T15, M53 = M45 & T27, M54 = M41 & T10, M55 = M44 & T13;
  const W M56 = M40 & T23, M57 = M39 & T19, M58 = M43 & T3, M59 = M38 & T22, M60 = M37 & T20;
  const W M61 = M42 & T1, M62 = M45 & T4, M63 = M41 & T2;

  const W L0 = M61 ^ M62, L1 = M50 ^ M56, L2 = M46 ^ M48, L3 = M47 ^ M55, L4 = M54 ^ M58;
  const W L5 = M49 ^ M61, L6 = M62 ^ L5, L7 = M46 ^ L3, L8 = M51 ^ M59, L9 = M52 ^ M53;
  const W L10 = M53 ^ L4, L11 = M60 ^ L2, L12 = M48 ^ M51, L13 = M50 ^ L0, L14 = M52 ^ M61;
  const W L15 = M55 ^ L1, L16 = M56 ^ L0, L17 = M57 ^ L1, L18 = M58 ^ L8, L19 = M63 ^ L4;
  const W L20 = L0 ^ L1, L21 = L1 ^ L7, L22 = L3 ^ L12, L23 = L18 ^ L2, L24 = L15 ^ L9;
  const W L25 = L6 ^ L10, L26 = L7 ^ L9, L27 = L8 ^ L10, L28 = L11 ^ L14, L29 = L11 ^ L17;

  q[7] = L6 ^ L24;  /* S0 */
  q[6] = L16 ^ L26; /* S1 (XNOR in the paper) */
  q[5] = L19 ^ L28; /* S2 (XNOR) */
  q[4] = L6 ^ L21;  /* S3 */
  q[3] = L20 ^ L22; /* S4 */
  q[2] = L25 ^ L29; /* S5 */
  q[1] = L13 ^ L27; /* S6 (XNOR) */
  q[0] = L6 ^ L23;  /* S7 (XNOR) */
}

/*
 * MixColumns (FIPS 197 section 5.1.3) on a state stored k ShiftRows behind:
 * out_r = 2 a_r + 3 a_{r+1} + a_{r+2} + a_{r+3}
 *       = 2 t_r + a_{r+1} + t_{r+2} with t_r = a_r + a_{r+1};
 * rot1 / rot2 fetch "one / two rows down in the same real column".
 * Multiplication by 2 (xtime) on planes: a shift across planes, with the
 * carry (plane 7) added into planes 0, 1, 3, 4 (x^8 = x^4 + x^3 + x + 1).
 */
AES_INLINE void mix_columns(W *q, const int k) {
  W r[8], t[8];
  for (int i = 0; i < 8; i++) {
    r[i] = rot1(q[i], k);
    t[i] = q[i] ^ r[i];
  }
  for (int i = 0; i < 8; i++) q[i] = r[i] ^ rot2(t[i], k);
  q[0] ^= t[7];
  q[1] ^= t[0] ^ t[7];
  q[2] ^= t[1];
  q[3] ^= t[2] ^ t[7];
  q[4] ^= t[3] ^ t[7];
  q[5] ^= t[4];
  q[6] ^= t[5];
  q[7] ^= t[6];
}

AES_INLINE void add_round_key(W *q, const uint64_t *rk) {
  for (int i = 0; i < 8; i++) q[i] ^= rk_load(rk + i);
}

AES_INLINE void round_k(W *q, const uint64_t *rk, const int k) {
  sub_bytes(q);
  mix_columns(q, k);
  add_round_key(q, rk);
}

/* FIPS 197 section 5.1 Cipher(), rounds 1..Nr-1 with MixColumns for the
 * rotation i mod 4 = 1, 2, 3, 0, ...; Nr - 1 = 9 or 13 is 1 mod 4. */
static void encrypt_state(const tsr_aes_key *key, W *qp) {
  const uint64_t *rk = key->rk;
  W q[8]; /* a local copy the compiler keeps out of memory where it can */
  for (int i = 0; i < 8; i++) q[i] = qp[i] ^ rk_load(rk + i);
  for (unsigned m = (key->rounds - 2) / 4; m; m--) {
    round_k(q, rk + 8, 1);
    round_k(q, rk + 16, 2);
    round_k(q, rk + 24, 3);
    round_k(q, rk + 32, 0);
    rk += 32;
  }
  round_k(q, rk + 8, 1);
  sub_bytes(q);
  for (int i = 0; i < 8; i++) qp[i] = shift_rows2(q[i]) ^ rk_load(rk + 16 + i);
}

/* SubBytes of 16 * NB bytes in place (the real S-box: constant added). */
static void sub_bytes_buf(uint8_t *buf) {
  W q[8];
  load_blocks(q, buf);
  sub_bytes(q);
  store_blocks(buf, q);
  for (int i = 0; i < 16 * NB; i++) buf[i] ^= 0x63;
}

void tsr_aes_sbox_bytes(uint8_t *out, const uint8_t *in, size_t n) {
  uint8_t buf[16 * NB];
  while (n) {
    size_t m = n < sizeof buf ? n : sizeof buf;
    __builtin_memset(buf, 0, sizeof buf);
    __builtin_memcpy(buf, in, m);
    sub_bytes_buf(buf);
    __builtin_memcpy(out, buf, m);
    in += m;
    out += m;
    n -= m;
  }
  tsr_memzero(buf, sizeof buf);
}

/* FIPS 197 section 5.2 KeyExpansion on bytes, SubWord through the
 * bitsliced S-box; then every round key is stored pre-rotated for the
 * fixslice (ShiftRows^-(i mod 4)), 0x63-folded (i >= 1) and bitsliced. */
void tsr_aes_init(tsr_aes_key *k, const uint8_t *key, size_t keylen) {
  const unsigned nk = keylen == 32 ? 8 : 4, nr = nk + 6;
  uint8_t w[15 * 16], buf[16 * NB], rk[16], t[4];
  uint8_t rcon = 1;
  k->rounds = nr;
  __builtin_memcpy(w, key, 4 * nk);
  for (unsigned i = nk; i < 4 * (nr + 1); i++) {
    __builtin_memcpy(t, w + 4 * (i - 1), 4);
    if (i % nk == 0 || (nk > 6 && i % nk == 4)) {
      __builtin_memset(buf, 0, sizeof buf);
      if (i % nk == 0) { /* RotWord */
        buf[0] = t[1];
        buf[1] = t[2];
        buf[2] = t[3];
        buf[3] = t[0];
      } else {
        __builtin_memcpy(buf, t, 4);
      }
      sub_bytes_buf(buf);
      __builtin_memcpy(t, buf, 4);
      if (i % nk == 0) {
        t[0] ^= rcon;
        rcon = (uint8_t)((rcon << 1) ^ (0x1b & (0u - (rcon >> 7)))); /* xtime, public */
      }
    }
    for (int j = 0; j < 4; j++) w[4 * i + j] = (uint8_t)(w[4 * (i - nk) + j] ^ t[j]);
  }
  for (unsigned i = 0; i <= nr; i++) {
    /* Rotation s: the state of round i is stored ShiftRows^(i mod 4) behind;
     * the last round key meets the restored state. ShiftRows^-s puts real
     * byte (r, c) at (r, c + s r). */
    const unsigned s = i == nr ? 0 : i % 4;
    for (unsigned c = 0; c < 4; c++)
      for (unsigned r = 0; r < 4; r++) rk[4 * ((c + s * r) % 4) + r] = w[16 * i + 4 * c + r];
    for (int b = 0; b < NB; b++) __builtin_memcpy(buf + 16 * b, rk, 16);
    W q[8];
    load_blocks(q, buf);
    for (int p = 0; p < 8; p++) k->rk[8 * i + p] = lane0(q[p]);
    if (i) { /* 0x63 = planes 0, 1, 5, 6 */
      k->rk[8 * i + 0] = ~k->rk[8 * i + 0];
      k->rk[8 * i + 1] = ~k->rk[8 * i + 1];
      k->rk[8 * i + 5] = ~k->rk[8 * i + 5];
      k->rk[8 * i + 6] = ~k->rk[8 * i + 6];
    }
  }
  tsr_memzero(w, sizeof w);
  tsr_memzero(buf, sizeof buf);
  tsr_memzero(rk, sizeof rk);
  tsr_memzero(t, sizeof t);
}

void tsr_aes_encrypt_blocks(const tsr_aes_key *k, uint8_t *out, const uint8_t *in, size_t nblocks) {
  W q[8];
  for (; nblocks >= NB; nblocks -= NB, in += 16 * NB, out += 16 * NB) {
    load_blocks(q, in);
    encrypt_state(k, q);
    store_blocks(out, q);
  }
  if (nblocks) {
    uint8_t buf[16 * NB];
    __builtin_memset(buf, 0, sizeof buf);
    __builtin_memcpy(buf, in, 16 * nblocks);
    load_blocks(q, buf);
    encrypt_state(k, q);
    store_blocks(buf, q);
    __builtin_memcpy(out, buf, 16 * nblocks);
    tsr_memzero(buf, sizeof buf);
  }
}

/* SP 800-38D section 6.5 GCTR with inc32 (section 6.2): NB counter blocks
 * per batch, keystream XORed into out (in place is fine: each batch reads
 * its input before writing). */
void tsr_aes_ctr32(const tsr_aes_key *k, uint8_t *out, const uint8_t *in, size_t len, const uint8_t iv[12],
                   uint32_t ctr) {
  uint8_t blk[16 * NB], ks[16 * NB];
  W q[8];
  if (!len) return;
  for (int b = 0; b < NB; b++) __builtin_memcpy(blk + 16 * b, iv, 12);
  while (len) {
    for (int b = 0; b < NB; b++) tsr_store32_be(blk + 16 * b + 12, ctr + (uint32_t)b);
    ctr += NB;
    load_blocks(q, blk);
    encrypt_state(k, q);
    size_t n = len < sizeof ks ? len : sizeof ks, i = 0;
    store_blocks(ks, q);
    for (; i + 8 <= n; i += 8) tsr_store64_le(out + i, tsr_load64_le(in + i) ^ tsr_load64_le(ks + i));
    for (; i < n; i++) out[i] = (uint8_t)(in[i] ^ ks[i]);
    in += n;
    out += n;
    len -= n;
  }
  tsr_memzero(ks, sizeof ks);
}
