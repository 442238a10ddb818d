#include "tsr_chunked.h"

#include <string.h>

#include "../hash/tsr_sha512.h"
#include "../util/tsr_util.h"

int tsr_chunked_suite_valid(int suite) {
  return suite == TSR_COBBLESTONE_256 || suite == TSR_COBBLESTONE_128;
}

tsr_aead_alg tsr_chunked_aead(tsr_chunked_suite suite) {
  return suite == TSR_COBBLESTONE_128 ? TSR_AEAD_AES128GCM : TSR_AEAD_AES256GCM;
}

size_t tsr_chunked_key_len(tsr_chunked_suite suite) {
  return suite == TSR_COBBLESTONE_128 ? 16u : 32u;
}

/* The AEAD's name from the IANA AEAD registry, as the info string spells it. */
static const char *aead_name(tsr_chunked_suite suite) {
  return suite == TSR_COBBLESTONE_128 ? "AEAD_AES_128_GCM" : "AEAD_AES_256_GCM";
}

void tsr_chunked_derive(tsr_chunked_keys *out, tsr_chunked_suite suite, const uint8_t *input_key,
                        const uint8_t salt[TSR_CHUNKED_SALT], const uint8_t *context, size_t context_len) {
  static const char prefix[] = "c2sp.org/chunked-encryption@v1+";
  uint8_t info[sizeof prefix - 1 + 17 + 1 + TSR_CHUNKED_SALT];
  const char *name = aead_name(suite);
  size_t n = 0, klen = tsr_chunked_key_len(suite);
  memcpy(info, prefix, sizeof prefix - 1);
  n += sizeof prefix - 1;
  memcpy(info + n, name, strlen(name));
  n += strlen(name);
  info[n++] = 0x00;
  memcpy(info + n, salt, TSR_CHUNKED_SALT);
  n += TSR_CHUNKED_SALT;
  /* key || base nonce || commitment, split straight into the struct. */
  uint8_t okm[32 + TSR_CHUNKED_NONCE + TSR_CHUNKED_COMMITMENT];
  size_t olen = klen + TSR_CHUNKED_NONCE + TSR_CHUNKED_COMMITMENT;
  tsr_hkdf_sha512_expand(okm, olen, input_key, klen, info, n, context, context_len);
  memset(out->key, 0, sizeof out->key);
  memcpy(out->key, okm, klen);
  memcpy(out->base_nonce, okm + klen, TSR_CHUNKED_NONCE);
  memcpy(out->commitment, okm + klen + TSR_CHUNKED_NONCE, TSR_CHUNKED_COMMITMENT);
  tsr_memzero(okm, sizeof okm);
}

tsr_status tsr_chunked_check(const tsr_chunked_keys *keys, const uint8_t commitment[TSR_CHUNKED_COMMITMENT]) {
  return tsr_ct_compare(keys->commitment, commitment, TSR_CHUNKED_COMMITMENT) == 0 ? TSR_OK : TSR_ERR_COMMITMENT;
}

void tsr_chunked_nonce(uint8_t out[TSR_CHUNKED_NONCE], const uint8_t base[TSR_CHUNKED_NONCE], uint64_t counter) {
  memcpy(out, base, TSR_CHUNKED_NONCE);
  for (int i = 0; i < 8; i++) out[TSR_CHUNKED_NONCE - 1 - i] ^= (uint8_t)(counter >> (8 * i));
}

uint64_t tsr_chunked_chunks(uint64_t ptlen) {
  return ptlen / TSR_CHUNK_PT + 1;
}

uint64_t tsr_chunked_sealed_len(uint64_t ptlen) {
  return ptlen + tsr_chunked_chunks(ptlen) * TSR_AEAD_TAGBYTES;
}

tsr_status tsr_chunked_opened_len(uint64_t ctlen, uint64_t *ptlen) {
  uint64_t full = ctlen / TSR_CHUNK_CT, rest = ctlen % TSR_CHUNK_CT;
  if (rest < TSR_AEAD_TAGBYTES) return TSR_ERR_TRUNCATED;
  if (full >= TSR_CHUNKED_MAX_CHUNKS) return TSR_ERR_LENGTH; /* the final chunk's counter would be >= 2^38 */
  *ptlen = full * TSR_CHUNK_PT + (rest - TSR_AEAD_TAGBYTES);
  return TSR_OK;
}

tsr_status tsr_chunked_run_shape(int seal, uint64_t inlen, int final, tsr_chunked_shape *shape) {
  uint64_t unit = seal ? TSR_CHUNK_PT : TSR_CHUNK_CT;
  if (!final) {
    if (inlen % unit != 0) return TSR_ERR_FORMAT;
    shape->chunks = inlen / unit;
    shape->outlen = shape->chunks * (seal ? TSR_CHUNK_CT : TSR_CHUNK_PT);
    return TSR_OK;
  }
  if (seal) {
    shape->chunks = tsr_chunked_chunks(inlen);
    shape->outlen = tsr_chunked_sealed_len(inlen);
    return TSR_OK;
  }
  tsr_status st = tsr_chunked_opened_len(inlen, &shape->outlen);
  if (st == TSR_OK) shape->chunks = tsr_chunked_chunks(shape->outlen);
  return st;
}

/* Chunk counters used by a run must stay below 2^38. */
static int counters_ok(uint64_t counter, uint64_t chunks) {
  return counter < TSR_CHUNKED_MAX_CHUNKS && chunks <= TSR_CHUNKED_MAX_CHUNKS - counter;
}

tsr_status tsr_chunked_seal(tsr_aead_ctx *ctx, const uint8_t base_nonce[TSR_CHUNKED_NONCE], uint64_t counter,
                            const uint8_t *pt, size_t ptlen, int final, uint8_t *out) {
  tsr_chunked_shape shape;
  tsr_status st0 = tsr_chunked_run_shape(1, ptlen, final, &shape);
  if (st0 != TSR_OK) return st0;
  uint64_t chunks = shape.chunks;
  if (!counters_ok(counter, chunks)) return TSR_ERR_LENGTH;
  uint8_t nonce[TSR_CHUNKED_NONCE];
  for (uint64_t i = 0; i < chunks; i++) {
    size_t n = ptlen < TSR_CHUNK_PT ? ptlen : TSR_CHUNK_PT;
    if (i + 1 == chunks && final) n = ptlen; /* the short final chunk: < 16 KiB */
    tsr_chunked_nonce(nonce, base_nonce, counter + i);
    tsr_status st = tsr_aead_seal(ctx, out, nonce, pt, n, NULL, 0, NULL, 0);
    if (st != TSR_OK) return st;
    pt += n;
    ptlen -= n;
    out += n + TSR_AEAD_TAGBYTES;
  }
  return TSR_OK;
}

tsr_status tsr_chunked_open(tsr_aead_ctx *ctx, const uint8_t base_nonce[TSR_CHUNKED_NONCE], uint64_t counter,
                            const uint8_t *ct, size_t ctlen, int final, uint8_t *out, size_t *ptlen) {
  tsr_chunked_shape shape;
  tsr_status st0 = tsr_chunked_run_shape(0, ctlen, final, &shape);
  if (st0 != TSR_OK) return st0;
  uint64_t total = shape.outlen, chunks = shape.chunks;
  if (!counters_ok(counter, chunks)) return TSR_ERR_LENGTH;
  uint8_t nonce[TSR_CHUNKED_NONCE];
  uint8_t *o = out;
  for (uint64_t i = 0; i < chunks; i++) {
    size_t n = ctlen < TSR_CHUNK_CT ? ctlen : TSR_CHUNK_CT;
    tsr_chunked_nonce(nonce, base_nonce, counter + i);
    tsr_status st = tsr_aead_open(ctx, o, nonce, ct, n, NULL, 0, NULL, 0);
    if (st != TSR_OK) {
      /* Earlier chunks verified, but the run as a whole did not: release
       * nothing, and leave the whole output in one known state. */
      tsr_memzero(out, (size_t)total);
      return st;
    }
    ct += n;
    ctlen -= n;
    o += n - TSR_AEAD_TAGBYTES;
  }
  *ptlen = (size_t)total;
  return TSR_OK;
}
