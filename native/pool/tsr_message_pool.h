/*
 * tsr_message_pool: a message format v1 batch (native/message) run on the
 * calling thread, split with the pool's helper thread when it is large.
 * Each half has its own context: a context serves one thread at a time
 * (native/aead/tsr_aead.h).
 */
#ifndef TSR_MESSAGE_POOL_H
#define TSR_MESSAGE_POOL_H

#include "../message/tsr_message.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Below this many messages the hop to the helper costs more than it saves. */
#define TSR_MESSAGE_POOL_SPLIT 256u

/* Seals or opens batch b with ctx and, when b->n >= TSR_MESSAGE_POOL_SPLIT,
 * *helper for the upper half (made on first use, same key and kernel, kept
 * by the caller: free it with tsr_aead_ctx_free). On failure returns the
 * status and the lowest failing index in *failed. */
tsr_status tsr_message_pool_run(tsr_aead_ctx *ctx, tsr_aead_ctx **helper, const tsr_message_batch *b, int seal,
                                size_t *failed);

#ifdef __cplusplus
}
#endif
#endif
