/*
 * Cobblestone: c2sp.org/chunked-encryption (contract).
 * Written once here and compiled into the addon and the WASM module, so both
 * frame, derive and count exactly alike.
 *
 *   ciphertext = salt (24) || commitment (32) || chunk 0 || chunk 1 || ...
 *   chunk k    = AEAD(key, base_nonce XOR be96(k), pt[16 KiB * k ...], aad = "")
 *
 * Every chunk holds 16 KiB of plaintext except the last, which holds less
 * (possibly nothing): the short final chunk is the end-of-message signal.
 * The AEAD itself is whatever backend implements tsr_aead.h.
 */
#ifndef TSR_CHUNKED_H
#define TSR_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "../aead/tsr_aead.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_CHUNK_PT           16384u                             /* plaintext bytes per full chunk */
#define TSR_CHUNK_CT           (TSR_CHUNK_PT + TSR_AEAD_TAGBYTES) /* ciphertext bytes per full chunk */
#define TSR_CHUNKED_SALT       24u
#define TSR_CHUNKED_COMMITMENT 32u
#define TSR_CHUNKED_HEADER     (TSR_CHUNKED_SALT + TSR_CHUNKED_COMMITMENT)
#define TSR_CHUNKED_NONCE      12u
/* "If the chunk counter reaches or exceeds 2^38 ... implementations MUST abort." */
#define TSR_CHUNKED_MAX_CHUNKS ((uint64_t)1 << 38)

typedef enum {
  TSR_COBBLESTONE_256 = 1, /* SHA-512, AES-256-GCM (AEAD_AES_256_GCM) */
  TSR_COBBLESTONE_128 = 2  /* SHA-512, AES-128-GCM (AEAD_AES_128_GCM) */
} tsr_chunked_suite;

int tsr_chunked_suite_valid(int suite);
tsr_aead_alg tsr_chunked_aead(tsr_chunked_suite suite);
size_t tsr_chunked_key_len(tsr_chunked_suite suite); /* input key = AEAD key size */

/* What the derivation yields; lives in secure memory in the addon. */
typedef struct {
  uint8_t key[32]; /* first tsr_chunked_key_len bytes used */
  uint8_t base_nonce[TSR_CHUNKED_NONCE];
  uint8_t commitment[TSR_CHUNKED_COMMITMENT];
} tsr_chunked_keys;

/*
 * Key derivation (spec "Key derivation"):
 *   key || base nonce || commitment = HKDF-SHA-512-Expand(input key,
 *     "c2sp.org/chunked-encryption@v1+" || aead || 0x00 || salt || context)
 * input_key is tsr_chunked_key_len(suite) bytes (the caller checks).
 */
void tsr_chunked_derive(tsr_chunked_keys *out, tsr_chunked_suite suite, const uint8_t *input_key,
                        const uint8_t salt[TSR_CHUNKED_SALT], const uint8_t *context, size_t context_len);

/* TSR_OK if commitment equals the derived one (constant time), else
 * TSR_ERR_COMMITMENT. Checked before any chunk is decrypted. */
tsr_status tsr_chunked_check(const tsr_chunked_keys *keys, const uint8_t commitment[TSR_CHUNKED_COMMITMENT]);

/* Nonce of chunk `counter`: base nonce XOR the counter as a 96-bit
 * big-endian integer (spec "AEAD usage"). */
void tsr_chunked_nonce(uint8_t out[TSR_CHUNKED_NONCE], const uint8_t base[TSR_CHUNKED_NONCE], uint64_t counter);

/* Lengths of the chunk stream (no 56-byte header: raw mode framing). A
 * plaintext of n bytes has n / 16 KiB + 1 chunks. */
uint64_t tsr_chunked_chunks(uint64_t ptlen);
uint64_t tsr_chunked_sealed_len(uint64_t ptlen);
/*
 * The plaintext length of a chunk stream of ctlen bytes, or
 * TSR_ERR_TRUNCATED when no message has that length: a final chunk must
 * hold 16 to 16 KiB + 15 bytes (implementation notes), so a stream of whole
 * full chunks is truncated and a remainder under 16 bytes is invalid.
 * TSR_ERR_LENGTH past the 2^38 chunk limit.
 */
tsr_status tsr_chunked_opened_len(uint64_t ctlen, uint64_t *ptlen);

/*
 * The shape of a run of consecutive chunks: how many chunks it holds and how
 * many bytes it writes, for `inlen` plaintext (seal) or ciphertext (open)
 * bytes. A run that is not `final` must be whole chunks (TSR_ERR_FORMAT);
 * a final ciphertext run must end in a valid final chunk (TSR_ERR_TRUNCATED).
 */
typedef struct {
  uint64_t chunks;
  uint64_t outlen;
} tsr_chunked_shape;
tsr_status tsr_chunked_run_shape(int seal, uint64_t inlen, int final, tsr_chunked_shape *shape);

/*
 * Seals consecutive chunks starting at chunk `counter`: pt is split into
 * 16 KiB pieces. With `final` the last piece is the message's short final
 * chunk (an empty one when ptlen is a multiple of 16 KiB); without it ptlen
 * must be a multiple of 16 KiB. out receives the chunk stream
 * (tsr_chunked_sealed_len bytes when final, else ptlen / 16 KiB * 16400).
 * ctx is keyed with keys->key. out must not overlap pt (each chunk grows by
 * its 16-byte tag, so no in-place layout lines up).
 */
tsr_status tsr_chunked_seal(tsr_aead_ctx *ctx, const uint8_t base_nonce[TSR_CHUNKED_NONCE], uint64_t counter,
                            const uint8_t *pt, size_t ptlen, int final, uint8_t *out);

/*
 * Opens consecutive chunks starting at `counter`. Without `final`, ctlen is a
 * multiple of 16400; with it, ctlen must end in a valid final chunk
 * (TSR_ERR_TRUNCATED otherwise). Every chunk is verified before the call
 * returns TSR_OK; on any failure the whole of out is zeroed. *ptlen receives
 * the plaintext length. out must not overlap ct.
 */
tsr_status tsr_chunked_open(tsr_aead_ctx *ctx, const uint8_t base_nonce[TSR_CHUNKED_NONCE], uint64_t counter,
                            const uint8_t *ct, size_t ctlen, int final, uint8_t *out, size_t *ptlen);

#ifdef __cplusplus
}
#endif
#endif
