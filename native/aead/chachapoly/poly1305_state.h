/*
 * Internal to the Poly1305 tiers (RFC 8439 section 2.5): the layout of
 * tsr_poly1305_kstate.w that poly1305_scalar64.c, poly1305_avx2.c and
 * poly1305_ifma.c share (w[0..15]; the vector tiers keep their powers of r
 * above it), and the update driver of the vector tiers.
 */
#ifndef TSR_POLY1305_STATE_H
#define TSR_POLY1305_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/tsr_util.h"
#include "tsr_chachapoly_kern.h"

/* h (3 words), r (2), s (2), a partial block (2) and its fill, powers ready. */
enum { PH = 0, PR = 3, PS = 5, PBUF = 7, PFILL = 9, PREADY = 10 };

/* Below this many bytes the scalar path is faster than a vector step (no
 * table setup, no lane sums). */
#define TSR_POLY1305_VECTOR_MIN 256u

/*
 * update() of a vector tier: a waiting partial block is completed by the
 * scalar tier, whole groups of `group` bytes go to blocks() (after setup()
 * made the powers of r once per key), the rest to the scalar tier. The
 * stack blocks() used is scrubbed after it: its spill slots hold h and
 * powers of r.
 */
static inline void tsr_poly1305_vector_update(tsr_poly1305_kstate *s, const uint8_t *in, size_t len, size_t group,
                                              void (*setup)(uint64_t *w),
                                              void (*blocks)(uint64_t *w, const uint8_t *in, size_t ngroups)) {
  uint64_t *w = s->w;
  if (w[PFILL] && len) {
    size_t take = 16 - (size_t)w[PFILL] < len ? 16 - (size_t)w[PFILL] : len;
    tsr_poly1305_scalar64.update(s, in, take);
    in += take;
    len -= take;
  }
  if (len >= TSR_POLY1305_VECTOR_MIN) {
    if (!w[PREADY]) setup(w);
    size_t n = len / group;
    blocks(w, in, n);
    tsr_stack_scrub();
    in += group * n;
    len -= group * n;
  }
  if (len) tsr_poly1305_scalar64.update(s, in, len);
}

#endif
