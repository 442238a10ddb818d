/* See tsr_aesgcm_split.h. Constant time as the kernels: only lengths steer. */
#include "tsr_aesgcm_split.h"

#include <string.h>

#include "tsr_gf128.h"
#include "../../util/tsr_util.h"
#include "../../pool/tsr_pool.h"

typedef struct {
  const tsr_aesgcm_impl *impl;
  const tsr_aesgcm_key *k;
  int enc;
  uint8_t ctr[16], acc[16];
  const uint8_t *in;
  uint8_t *out;
  size_t len;
  const uint8_t *a1, *a2; /* part 0: the associated data */
  size_t l1, l2;
  uint64_t k2; /* part 1: H^k2, computed off the calling thread */
  tsr_gf128 hk2;
} part;

static void run_part(void *arg) {
  part *p = (part *)arg;
  if (p->l1 || p->l2) tsr_aesgcm_hash_aad(p->impl, p->k, p->acc, p->a1, p->l1, p->a2, p->l2);
  (p->enc ? p->impl->enc : p->impl->dec)(p->k, p->ctr, p->acc, p->out, p->in, p->len);
  if (p->k2) {
    uint8_t h[16] = {0};
    p->impl->ecb(p->k, h, h, 1); /* H = E_K(0^128) */
    p->hk2 = tsr_gf128_pow(tsr_gf128_load(h), p->k2);
    tsr_memzero(h, sizeof h);
  }
  tsr_stack_scrub(); /* this thread's kernel spills */
}

/* acc over A || C of the whole message; j0 set. Wipes the parts. */
static void run(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, int enc, uint8_t *out, const uint8_t iv[12],
                const uint8_t *in, size_t len, const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2,
                uint8_t acc[16], uint8_t j0[16]) {
  part p[2];
  memset(p, 0, sizeof p);
  const size_t m = (len / 2) & ~(size_t)4095;
  for (int i = 0; i < 2; i++) {
    p[i].impl = impl;
    p[i].k = k;
    p[i].enc = enc;
    tsr_aesgcm_j0(j0, p[i].ctr, iv);
    p[i].in = in + (i ? m : 0);
    p[i].out = out + (i ? m : 0);
    p[i].len = i ? len - m : m;
  }
  /* C2 starts m / 16 blocks later; GCM's 2^32 - 2 block limit means no wrap. */
  tsr_store32_be(p[1].ctr + 12, (uint32_t)(2 + m / 16));
  p[0].a1 = a1, p[0].l1 = l1, p[0].a2 = a2, p[0].l2 = l2;
  p[1].k2 = (len - m + 15) / 16;
  tsr_pool_pair(run_part, &p[0], &p[1]);
  tsr_gf128 s = tsr_gf128_xor(tsr_gf128_mul(tsr_gf128_load(p[0].acc), p[1].hk2), tsr_gf128_load(p[1].acc));
  tsr_gf128_store(acc, s);
  tsr_memzero(&s, sizeof s);
  tsr_memzero(p, sizeof p);
}

void tsr_aesgcm_split_seal(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12],
                           const uint8_t *pt, size_t len, const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2) {
  uint8_t acc[16], j0[16];
  run(impl, k, 1, out, iv, pt, len, a1, l1, a2, l2, acc, j0);
  tsr_aesgcm_finish(impl, k, acc, j0, (uint64_t)l1 + l2, len, out + len);
  tsr_memzero(acc, sizeof acc);
  tsr_memzero(j0, sizeof j0);
}

int tsr_aesgcm_split_open(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12],
                          const uint8_t *ct, size_t len, const uint8_t tag[16], const uint8_t *a1, size_t l1,
                          const uint8_t *a2, size_t l2) {
  uint8_t acc[16], j0[16], want[16], got[16];
  memcpy(want, tag, 16); /* before out (which may alias ct and tag) is written */
  run(impl, k, 0, out, iv, ct, len, a1, l1, a2, l2, acc, j0);
  tsr_aesgcm_finish(impl, k, acc, j0, (uint64_t)l1 + l2, len, got);
  int rc = tsr_ct_compare(got, want, 16);
  if (rc != 0) tsr_memzero(out, len); /* never release unauthenticated plaintext */
  tsr_memzero(acc, sizeof acc);
  tsr_memzero(j0, sizeof j0);
  tsr_memzero(got, sizeof got);
  return rc;
}
