/*
 * libFuzzer target for the C code that reads untrusted input: message
 * format v1 open (native/message, docs/API.md) and Cobblestone chunk streams
 * (native/chunked, c2sp.org/chunked-encryption: truncation, reordering,
 * extension, bit flips).
 *
 * Input: byte 0 picks the case and algorithm, bytes 1..6 are mutation
 * parameters, the rest is the plaintext (or, for case 0, a raw message).
 *   case 0: the bytes as a message: never TSR_OK, the output stays zeroed.
 *   case 1: a message sealed here, then one mutation (bit flip, cut, extra
 *           bytes): TSR_OK only for the unchanged message, with the same
 *           plaintext; otherwise TSR_ERR_AUTH or TSR_ERR_FORMAT, out zeroed.
 *   case 2: a chunk stream sealed here (final, counter 0), then truncated,
 *           extended, with two chunks swapped, or a bit flipped: only the
 *           unchanged stream opens; lengths agree with tsr_chunked_opened_len.
 *   case 3: a batch layout over arbitrary lengths: no overflow, off[] rises.
 * TSR_FUZZ_CASE=N (0..3) in the environment fuzzes case N only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../chunked/tsr_chunked.h"
#include "../message/tsr_message.h"

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static tsr_aead_ctx *ctx_for(tsr_aead_alg alg) {
  static tsr_aead_ctx *ctxs[5];
  static const uint8_t key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  if (!ctxs[alg]) {
    tsr_status st;
    ctxs[alg] = tsr_aead_ctx_new(alg, key, &st);
    CHECK(ctxs[alg]);
  }
  return ctxs[alg];
}

static int all_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= p[i];
  return acc == 0;
}

static uint16_t u16(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}

static void message_case(tsr_aead_alg alg, const uint8_t *prm, const uint8_t *pt, size_t ptlen, int raw) {
  tsr_aead_ctx *ctx = ctx_for(alg);
  size_t h = tsr_message_header_len(alg), n = 0, got = 0;
  size_t cap = h + ptlen + 16 + 64;
  uint8_t *msg = malloc(cap), *out = calloc(1, cap);
  CHECK(msg && out);
  if (raw) {
    memcpy(msg, pt, ptlen);
    n = ptlen;
    tsr_status st = tsr_message_open(ctx, out, cap, msg, n, NULL, 0, &got);
    CHECK(st == TSR_ERR_AUTH || st == TSR_ERR_FORMAT);
    CHECK(got == 0 && all_zero(out, cap));
  } else {
    CHECK(tsr_message_seal(ctx, NULL, u16(prm), msg, cap, pt, ptlen, prm, 2, &n) == TSR_OK);
    CHECK(tsr_message_open(ctx, out, cap, msg, n, prm, 2, &got) == TSR_OK && got == ptlen &&
          memcmp(out, pt, ptlen) == 0);
    memset(out, 0xAA, cap);
    switch (prm[2] % 3) {
      case 0: /* one bit anywhere, header included */
        msg[u16(prm + 3) % n] ^= (uint8_t)(1u << (prm[5] % 8));
        break;
      case 1: /* cut */
        n = u16(prm + 3) % n;
        break;
      default: /* extra bytes */
        for (size_t i = 0, k = 1 + prm[5] % 64; i < k; i++) msg[n++] = prm[i % 6];
        break;
    }
    tsr_status st = tsr_message_open(ctx, out, cap, msg, n, prm, 2, &got);
    CHECK(st == TSR_ERR_AUTH || st == TSR_ERR_FORMAT);
    if (st == TSR_ERR_AUTH) CHECK(all_zero(out, n - h - 16));
  }
  free(msg);
  free(out);
}

static void chunked_case(const uint8_t *prm, const uint8_t *data, size_t len) {
  /* Plaintext of up to ~3 chunks: the input repeated to a length chosen by prm. */
  size_t ptlen = (u16(prm) * 3u) % (3 * TSR_CHUNK_PT + 100);
  uint8_t *pt = malloc(ptlen + 1);
  CHECK(pt);
  for (size_t i = 0; i < ptlen; i++) pt[i] = len ? data[i % len] : (uint8_t)i;
  uint64_t sealed = tsr_chunked_sealed_len(ptlen), back = 0;
  CHECK(tsr_chunked_opened_len(sealed, &back) == TSR_OK && back == ptlen);
  size_t cap = (size_t)sealed + TSR_CHUNK_CT;
  uint8_t *ct = malloc(cap), *out = malloc(cap);
  CHECK(ct && out);
  static const uint8_t nonce[TSR_CHUNKED_NONCE] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
  tsr_aead_ctx *ctx = ctx_for(TSR_AEAD_AES256GCM);
  CHECK(tsr_chunked_seal(ctx, nonce, 0, pt, ptlen, 1, ct) == TSR_OK);
  size_t n = (size_t)sealed, got = 0;
  CHECK(tsr_chunked_open(ctx, nonce, 0, ct, n, 1, out, &got) == TSR_OK && got == ptlen && memcmp(out, pt, ptlen) == 0);
  size_t chunks = (size_t)tsr_chunked_chunks(ptlen);
  int changed = 1;
  switch (prm[2] % 4) {
    case 0: /* truncate */
      n = u16(prm + 3) % n;
      break;
    case 1: /* extend with bytes, or with a copy of the first chunk */
      if (prm[5] & 1 && n >= TSR_CHUNK_CT) {
        memcpy(ct + n, ct, TSR_CHUNK_CT);
        n += TSR_CHUNK_CT;
      } else {
        for (size_t i = 0, k = 1 + prm[5] % 32; i < k; i++) ct[n++] = prm[i % 6];
      }
      break;
    case 2: /* swap two full chunks */
      if (chunks >= 3) {
        uint8_t tmp[TSR_CHUNK_CT];
        memcpy(tmp, ct, TSR_CHUNK_CT);
        memcpy(ct, ct + TSR_CHUNK_CT, TSR_CHUNK_CT);
        memcpy(ct + TSR_CHUNK_CT, tmp, TSR_CHUNK_CT);
      } else {
        changed = 0;
      }
      break;
    default: /* flip a bit */
      ct[u16(prm + 3) % n] ^= (uint8_t)(1u << (prm[5] % 8));
      break;
  }
  uint64_t want = 0;
  tsr_status lst = tsr_chunked_opened_len(n, &want);
  memset(out, 0xAA, cap);
  tsr_status st = tsr_chunked_open(ctx, nonce, 0, ct, n, 1, out, &got);
  if (changed) {
    CHECK(st != TSR_OK);
    CHECK(all_zero(out, lst == TSR_OK ? (size_t)want : 0));
  }
  if (lst != TSR_OK) CHECK(st == lst); /* an impossible length is refused before any chunk */
  free(pt);
  free(ct);
  free(out);
}

static void layout_case(const uint8_t *prm, const uint8_t *data, size_t len) {
  size_t lens[16], off[17];
  size_t n = len / 8 < 16 ? len / 8 : 16;
  for (size_t i = 0; i < n; i++) {
    uint64_t v = 0;
    memcpy(&v, data + 8 * i, 8);
    lens[i] = (size_t)v;
  }
  int seal = prm[0] & 1;
  tsr_status st = tsr_message_batch_layout(TSR_AEAD_XAES256GCM, seal, lens, n, off);
  if (st == TSR_OK)
    for (size_t i = 0; i < n; i++)
      CHECK(off[i + 1] >= off[i] && off[i + 1] - off[i] == (seal ? lens[i] + 46 : lens[i] - 46));
  else
    CHECK(st == TSR_ERR_FORMAT || st == TSR_ERR_ARGUMENT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 7) return 0;
  static const tsr_aead_alg algs[4] = {TSR_AEAD_AES256GCM, TSR_AEAD_CHACHA20POLY1305, TSR_AEAD_XCHACHA20POLY1305,
                                       TSR_AEAD_XAES256GCM};
  /* TSR_FUZZ_CASE=0..3 holds every input to one case (a long run per parser). */
  static int forced = -2;
  if (forced == -2) {
    const char *e = getenv("TSR_FUZZ_CASE");
    forced = e && *e >= '0' && *e <= '3' ? *e - '0' : -1;
  }
  tsr_aead_alg alg = algs[(data[0] >> 2) & 3];
  const uint8_t *prm = data + 1, *rest = data + 7;
  size_t len = size - 7;
  switch (forced >= 0 ? forced : data[0] & 3) {
    case 0:
      message_case(alg, prm, rest, len, 1);
      break;
    case 1:
      message_case(alg, prm, rest, len, 0);
      break;
    case 2:
      chunked_case(prm, rest, len);
      break;
    default:
      layout_case(prm, rest, len);
      break;
  }
  return 0;
}
