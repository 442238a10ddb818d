/*
 * tsr_aead: the AEAD interface every backend implements (docs/ARCHITECTURE.md).
 *
 * One name scheme: tsr_aead_<op>. Algorithms carry the wire ids of message
 * format v1 (docs/API.md, contract), so the enum value *is* the id byte.
 * All four algorithms take 32-byte keys and produce 16-byte tags.
 */
#ifndef TSR_AEAD_H
#define TSR_AEAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  TSR_AEAD_AES256GCM = 0x01,         /* NIST SP 800-38D, 96-bit nonce */
  TSR_AEAD_CHACHA20POLY1305 = 0x02,  /* RFC 8439 */
  TSR_AEAD_XCHACHA20POLY1305 = 0x03, /* draft-irtf-cfrg-xchacha-03 */
  TSR_AEAD_XAES256GCM = 0x04,        /* c2sp.org/XAES-256-GCM */
  /* Internal only, never a message format v1 id: the AEAD under
   * Cobblestone-128 (c2sp.org/chunked-encryption). 16-byte key. */
  TSR_AEAD_AES128GCM = 0x81
} tsr_aead_alg;

#define TSR_AEAD_KEYBYTES       32u
#define TSR_AEAD_TAGBYTES       16u
#define TSR_AEAD_NONCEBYTES_MAX 24u

/* Result codes shared by every C entry point; lib/status.ts is the one
 * mapping to TesseraError codes, for both backends. */
typedef enum {
  TSR_OK = 0,
  TSR_ERR_AUTH = -1,       /* tag mismatch: no plaintext released */
  TSR_ERR_ALGORITHM = -2,  /* unknown algorithm id */
  TSR_ERR_FORMAT = -3,     /* malformed message */
  TSR_ERR_LENGTH = -4,     /* input too long for the algorithm */
  TSR_ERR_NOMEM = -5,      /* allocation (secure or not) failed */
  TSR_ERR_INTERNAL = -6,   /* the crypto library reported a failure */
  TSR_ERR_TRUNCATED = -7,  /* chunked: ciphertext ends where no message can */
  TSR_ERR_COMMITMENT = -8, /* chunked: wrong key or context (commitment mismatch) */
  TSR_ERR_BACKEND = -9,    /* native: the kernel TESSERA_NATIVE_KERNEL names cannot run here */
  TSR_ERR_ARGUMENT = -10   /* an output too small or a length out of range: the front layer refuses these first */
} tsr_status;

/* Whether alg is a message format v1 id (the internal AES-128-GCM is not). */
static inline int tsr_aead_valid(int alg) {
  return alg >= TSR_AEAD_AES256GCM && alg <= TSR_AEAD_XAES256GCM;
}
/* 96-bit nonces for the NIST / RFC 8439 constructions, 192-bit for the
 * extended-nonce ones (draft-irtf-cfrg-xchacha section 2.3, c2sp.org/XAES-256-GCM). */
static inline size_t tsr_aead_nonce_len(tsr_aead_alg alg) {
  return (alg == TSR_AEAD_XCHACHA20POLY1305 || alg == TSR_AEAD_XAES256GCM) ? 24u : 12u;
}
/* 32, or 16 for TSR_AEAD_AES128GCM. */
static inline size_t tsr_aead_key_len(tsr_aead_alg alg) {
  return alg == TSR_AEAD_AES128GCM ? 16u : TSR_AEAD_KEYBYTES;
}

/*
 * A keyed context. The input key is copied into secure memory (tsr_secmem);
 * backends may keep expanded state (key schedules) inside. Not thread-safe:
 * one context serves one thread at a time; use tsr_aead_ctx_new per thread.
 */
typedef struct tsr_aead_ctx tsr_aead_ctx;

/* key is tsr_aead_key_len(alg) bytes. Returns NULL on failure (*status
 * says which). */
tsr_aead_ctx *tsr_aead_ctx_new(tsr_aead_alg alg, const uint8_t *key, tsr_status *status);
void tsr_aead_ctx_free(tsr_aead_ctx *ctx);
/* Replaces the key (same algorithm), keeping the allocations: the raw API
 * re-keys one cached context per call instead of building a new one. */
tsr_status tsr_aead_ctx_rekey(tsr_aead_ctx *ctx, const uint8_t *key);
tsr_aead_alg tsr_aead_ctx_alg(const tsr_aead_ctx *ctx);
/* Whether large messages may use a second core (default 1). Async jobs turn
 * it off: on a small machine their second core is the event loop's. */
void tsr_aead_ctx_set_parallel(tsr_aead_ctx *ctx, int parallel);
/* The key bytes in secure memory (test hooks and export only). */
const uint8_t *tsr_aead_ctx_key(const tsr_aead_ctx *ctx);

/*
 * out receives ct || tag (ptlen + 16 bytes). The associated data is the
 * concatenation aad1 || aad2 (message format v1 authenticates its header as
 * aad1 and the caller's data as aad2 without a copy). out may equal pt.
 */
tsr_status tsr_aead_seal(tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *pt, size_t ptlen,
                         const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len);

/*
 * out receives sealedlen - 16 bytes of plaintext. On any failure out is
 * zeroed (never unauthenticated plaintext). out may equal sealed.
 */
tsr_status tsr_aead_open(tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *nonce, const uint8_t *sealed, size_t sealedlen,
                         const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len);

/* Fills buf with bytes from the backend's CSPRNG. */
tsr_status tsr_random_bytes(uint8_t *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
