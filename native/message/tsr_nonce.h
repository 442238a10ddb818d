/*
 * tsr_nonce: random nonces for message format v1, drawn from a 4 KiB buffer
 * refilled from the CSPRNG (one tsr_random_bytes call per ~300 nonces
 * instead of one per message). The buffer lives in tsr_secmem: where that
 * memory is MADV_WIPEONFORK a forked child finds the buffer empty and
 * refills instead of replaying the parent's nonces; where it is not, no
 * buffer is made and every nonce comes from the CSPRNG.
 *
 * A pool serves one thread; each JS thread (Node environment, WASM
 * instance) has its own.
 */
#ifndef TSR_NONCE_H
#define TSR_NONCE_H

#include <stddef.h>
#include <stdint.h>

#include "../aead/tsr_aead.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsr_nonce_pool tsr_nonce_pool;

/* NULL when a buffer would not be fork-safe or memory is short; NULL is a
 * valid pool for tsr_nonce_take. */
tsr_nonce_pool *tsr_nonce_pool_new(void);
void tsr_nonce_pool_free(tsr_nonce_pool *pool);
/* n <= TSR_AEAD_NONCEBYTES_MAX fresh bytes; each is handed out once and
 * wiped from the buffer. */
tsr_status tsr_nonce_take(tsr_nonce_pool *pool, uint8_t *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
