#include "tsr_chunked_pool.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "../util/tsr_util.h"
#include "tsr_pool.h"

typedef struct {
  tsr_aead_ctx *const *ctxs;
  const uint8_t *base_nonce;
  uint64_t counter;
  const uint8_t *in;
  size_t inlen;
  uint8_t *out;
  size_t tasks;
  int seal, final;
  /* The failure earliest in stream order, so the error a caller sees does
   * not depend on which core finished first. */
  pthread_mutex_t lock;
  size_t fail_task;
  tsr_status fail_status;
  int failed; /* read without the lock (__atomic) to skip remaining work */
} run;

size_t tsr_chunked_pool_tasks(uint64_t chunks) {
  size_t n = (size_t)((chunks + TSR_CHUNKED_BATCH - 1) / TSR_CHUNKED_BATCH);
  return n ? n : 1;
}

/* Task t covers chunks [t * BATCH, (t + 1) * BATCH) of the run; the last
 * task takes the rest, including the final chunk when there is one. */
static void task(void *arg, size_t t, unsigned participant) {
  run *r = (run *)arg;
  if (__atomic_load_n(&r->failed, __ATOMIC_RELAXED)) return; /* out is wiped anyway */
  size_t in_chunk = r->seal ? TSR_CHUNK_PT : TSR_CHUNK_CT;
  size_t out_chunk = r->seal ? TSR_CHUNK_CT : TSR_CHUNK_PT;
  size_t first = t * TSR_CHUNKED_BATCH;
  size_t off = first * in_chunk;
  int last = t + 1 == r->tasks;
  size_t len = last ? r->inlen - off : (size_t)TSR_CHUNKED_BATCH * in_chunk;
  tsr_aead_ctx *ctx = r->ctxs[participant];
  uint8_t *out = r->out + first * out_chunk;
  size_t ignored;
  tsr_status st =
      r->seal
          ? tsr_chunked_seal(ctx, r->base_nonce, r->counter + first, r->in + off, len, last && r->final, out)
          : tsr_chunked_open(ctx, r->base_nonce, r->counter + first, r->in + off, len, last && r->final, out, &ignored);
  if (st != TSR_OK) {
    pthread_mutex_lock(&r->lock);
    if (!r->failed || t < r->fail_task) {
      r->fail_task = t;
      r->fail_status = st;
    }
    __atomic_store_n(&r->failed, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&r->lock);
  }
}

static tsr_status go(run *r, unsigned width, int background, uint64_t chunks, size_t outlen) {
  r->tasks = tsr_chunked_pool_tasks(chunks);
  r->failed = 0;
  r->fail_status = TSR_OK;
  pthread_mutex_init(&r->lock, NULL);
  unsigned w = width < r->tasks ? width : (unsigned)r->tasks;
  if (background)
    tsr_pool_run_background(task, r, r->tasks, w);
  else
    tsr_pool_run(task, r, r->tasks, w);
  pthread_mutex_destroy(&r->lock);
  if (r->failed) {
    tsr_memzero(r->out, outlen); /* never a partial plaintext (or ciphertext) */
    return r->fail_status;
  }
  return TSR_OK;
}

tsr_status tsr_chunked_pool_seal(tsr_aead_ctx *const *ctxs, unsigned width, int background,
                                 const uint8_t base_nonce[12], uint64_t counter, const uint8_t *pt, size_t ptlen,
                                 int final, uint8_t *out) {
  tsr_chunked_shape shape;
  tsr_status st = tsr_chunked_run_shape(1, ptlen, final, &shape);
  if (st != TSR_OK) return st;
  uint64_t chunks = shape.chunks;
  if ((width <= 1 && !background) || chunks <= TSR_CHUNKED_BATCH)
    return tsr_chunked_seal(ctxs[0], base_nonce, counter, pt, ptlen, final, out);
  run r;
  memset(&r, 0, sizeof r);
  r.ctxs = ctxs;
  r.base_nonce = base_nonce;
  r.counter = counter;
  r.in = pt;
  r.inlen = ptlen;
  r.out = out;
  r.seal = 1;
  r.final = final;
  return go(&r, width, background, chunks, (size_t)shape.outlen);
}

tsr_status tsr_chunked_pool_open(tsr_aead_ctx *const *ctxs, unsigned width, int background,
                                 const uint8_t base_nonce[12], uint64_t counter, const uint8_t *ct, size_t ctlen,
                                 int final, uint8_t *out, size_t *ptlen) {
  tsr_chunked_shape shape;
  tsr_status st = tsr_chunked_run_shape(0, ctlen, final, &shape);
  if (st != TSR_OK) return st;
  uint64_t total = shape.outlen, chunks = shape.chunks;
  if ((width <= 1 && !background) || chunks <= TSR_CHUNKED_BATCH)
    return tsr_chunked_open(ctxs[0], base_nonce, counter, ct, ctlen, final, out, ptlen);
  run r;
  memset(&r, 0, sizeof r);
  r.ctxs = ctxs;
  r.base_nonce = base_nonce;
  r.counter = counter;
  r.in = ct;
  r.inlen = ctlen;
  r.out = out;
  r.final = final;
  st = go(&r, width, background, chunks, (size_t)total);
  if (st == TSR_OK) *ptlen = (size_t)total;
  return st;
}
