/*
 * One AES-GCM message on two cores with tessera's kernels. The message is
 * cut at a 4 KiB boundary m; the calling thread hashes A and encrypts C1,
 * a pool thread encrypts C2 from counter inc32(J0) + m/16 with its own
 * GHASH accumulator starting at zero. GHASH is linear in the blocks
 * (NIST SP 800-38D section 6.4: Y_i = (Y_{i-1} ^ X_i) * H), so over
 * A || C1 || C2 the accumulator is acc1 * H^k2 ^ acc2 with k2 the number
 * of (padded) blocks of C2; the length block and E_K(J0) finish the tag as
 * in the one-thread path (tsr_aesgcm.c).
 */
#ifndef TSR_AESGCM_SPLIT_H
#define TSR_AESGCM_SPLIT_H

#include "tsr_aesgcm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Messages below this run on one thread (the hop costs more than it saves). */
#define TSR_AESGCM_SPLIT_MIN ((size_t)256 << 10)

/* As tsr_aesgcm_seal / tsr_aesgcm_open (same arguments and results). */
void tsr_aesgcm_split_seal(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12],
                           const uint8_t *pt, size_t len, const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2);
int tsr_aesgcm_split_open(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12],
                          const uint8_t *ct, size_t len, const uint8_t tag[16], const uint8_t *a1, size_t l1,
                          const uint8_t *a2, size_t l2);

#ifdef __cplusplus
}
#endif
#endif
