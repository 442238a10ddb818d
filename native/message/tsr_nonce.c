#include "tsr_nonce.h"

#include <string.h>

#include "../secmem/tsr_secmem.h"
#include "../util/tsr_util.h"

struct tsr_nonce_pool {
  uint32_t avail;
  uint32_t pad[3];
  uint8_t bytes[4096];
};

tsr_nonce_pool *tsr_nonce_pool_new(void) {
  tsr_nonce_pool *p = tsr_secmem_alloc(sizeof *p);
  if (!p) return NULL;
  p->avail = 0;
#ifndef TSR_WASM /* a WebAssembly instance cannot fork */
  /* Asked after the allocation: the flag covers the arenas that exist, and
   * this block's arena exists now. Never buffer nonces across a fork that
   * would copy them. */
  tsr_secmem_stats st;
  tsr_secmem_stats_get(&st);
  if (!st.wipe_on_fork) {
    tsr_secmem_free(p);
    return NULL;
  }
#endif
  return p;
}

void tsr_nonce_pool_free(tsr_nonce_pool *pool) {
  tsr_secmem_free(pool);
}

tsr_status tsr_nonce_take(tsr_nonce_pool *pool, uint8_t *out, size_t n) {
  if (!pool) return tsr_random_bytes(out, n) == TSR_OK ? TSR_OK : TSR_ERR_INTERNAL;
  if (pool->avail < n) {
    if (tsr_random_bytes(pool->bytes, sizeof pool->bytes) != TSR_OK) return TSR_ERR_INTERNAL;
    pool->avail = sizeof pool->bytes;
  }
  uint8_t *src = pool->bytes + (sizeof pool->bytes - pool->avail);
  memcpy(out, src, n);
  tsr_memzero(src, n); /* a nonce is handed out once; no copy stays behind */
  pool->avail -= (uint32_t)n;
  return TSR_OK;
}
