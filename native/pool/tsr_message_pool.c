#include "tsr_message_pool.h"

#include "../aead/tsr_kernel.h"
#include "tsr_pool.h"

typedef struct {
  tsr_aead_ctx *ctx;
  const tsr_message_batch *b;
  int seal;
  size_t begin, end, failed;
  tsr_status st;
} half;

static void run_half(void *arg) {
  half *h = arg;
  h->st = tsr_message_batch_run(h->ctx, h->b, h->seal, h->begin, h->end, &h->failed);
}

tsr_status tsr_message_pool_run(tsr_aead_ctx *ctx, tsr_aead_ctx **helper, const tsr_message_batch *b, int seal,
                                size_t *failed) {
  if (b->n >= TSR_MESSAGE_POOL_SPLIT && !*helper) {
    tsr_status st;
    *helper = tsr_aead_ctx_new_kernel(tsr_aead_ctx_alg(ctx), tsr_aead_ctx_key(ctx), tsr_aead_ctx_kernel(ctx), &st);
    if (!*helper) return st;
  }
  if (b->n < TSR_MESSAGE_POOL_SPLIT) return tsr_message_batch_run(ctx, b, seal, 0, b->n, failed);
  size_t mid = b->n / 2;
  half lo = {ctx, b, seal, 0, mid, 0, TSR_OK}, hi = {*helper, b, seal, mid, b->n, 0, TSR_OK};
  tsr_pool_pair(run_half, &lo, &hi);
  if (lo.st != TSR_OK) {
    *failed = lo.failed;
    return lo.st;
  }
  *failed = hi.failed;
  return hi.st;
}
