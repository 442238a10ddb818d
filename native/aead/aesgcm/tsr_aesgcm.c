/*
 * AES-GCM (NIST SP 800-38D section 7, 96-bit IV, 128-bit tag) composed once
 * from a tier's kernels (see tsr_aesgcm.h):
 *   J0 = IV || 0^31 || 1                                    (7.1 step 2)
 *   C  = GCTR_K(inc32(J0), P)                               (step 3)
 *   S  = GHASH_H(A || 0^v || C || 0^u || [len(A)]64 || [len(C)]64)
 *   T  = E_K(J0) ^ S                                        (steps 5-6)
 * A = a1 || a2 is hashed as one string: a partial last block of a1 is
 * completed from the start of a2 in a stack buffer.
 * A tier with a one-call entry (impl->aead) gets the whole message at once
 * whenever A is one string or short enough to join here (see tsr_aesgcm.h);
 * the composed steps stay for the rest and for tsr_aesgcm_split.c.
 * Constant time: the kernels are; here only lengths (public) steer branches,
 * and the tag is compared with tsr_ct_compare.
 */
#include <string.h>

#include "../../util/tsr_util.h"
#include "tsr_aesgcm.h"

void tsr_aesgcm_hash_aad(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t acc[16], const uint8_t *a1,
                         size_t l1, const uint8_t *a2, size_t l2) {
  size_t full = l1 & ~(size_t)15, r = l1 & 15;
  if (full) impl->ghash(k, acc, a1, full);
  if (r) {
    uint8_t blk[16] = {0};
    size_t take = 16 - r < l2 ? 16 - r : l2;
    memcpy(blk, a1 + full, r);
    if (take) memcpy(blk + r, a2, take);
    impl->ghash(k, acc, blk, r + take);
    a2 += take;
    l2 -= take;
    tsr_memzero(blk, sizeof blk);
  }
  if (l2) impl->ghash(k, acc, a2, l2);
}

/* tag = E_K(J0) ^ GHASH(... || lengths); j0 holds J0 on entry. */
void tsr_aesgcm_finish(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t acc[16], uint8_t j0[16],
                       uint64_t alen, uint64_t clen, uint8_t tag[16]) {
  uint8_t lens[16];
  tsr_store64_be(lens, alen * 8);
  tsr_store64_be(lens + 8, clen * 8);
  impl->ghash(k, acc, lens, 16);
  impl->ecb(k, j0, j0, 1);
  for (int i = 0; i < 16; i++) tag[i] = (uint8_t)(j0[i] ^ acc[i]);
}

void tsr_aesgcm_j0(uint8_t j0[16], uint8_t ctr[16], const uint8_t iv[12]) {
  memcpy(j0, iv, 12);
  tsr_store32_be(j0 + 12, 1);
  memcpy(ctr, iv, 12);
  tsr_store32_be(ctr + 12, 2);
}

/* a1 || a2 as one string for impl->aead: either part alone, or both
 * copied into buf when they fit (else 0: the composed path). */
#define JOIN_MAX 256
static int one_string(uint8_t buf[JOIN_MAX], const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2,
                      const uint8_t **aad, size_t *alen) {
  *alen = l1 + l2;
  if (!l2)
    *aad = a1;
  else if (!l1)
    *aad = a2;
  else if (l1 <= JOIN_MAX && l2 <= JOIN_MAX - l1) {
    memcpy(buf, a1, l1);
    memcpy(buf + l1, a2, l2);
    *aad = buf;
  } else
    return 0;
  return 1;
}

void tsr_aesgcm_seal(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12],
                     const uint8_t *pt, size_t len, const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2) {
  uint8_t buf[JOIN_MAX];
  const uint8_t *aad;
  size_t alen;
  if (impl->aead && one_string(buf, a1, l1, a2, l2, &aad, &alen)) {
    impl->aead(k, 1, out, iv, pt, len, aad, alen, out + len);
    tsr_stack_scrub(); /* what the compiler spilled in the kernel (E_K(J0), partial sums) */
    if (aad == buf) tsr_memzero(buf, alen);
    return;
  }
  uint8_t acc[16] = {0}, j0[16], ctr[16];
  tsr_aesgcm_j0(j0, ctr, iv);
  tsr_aesgcm_hash_aad(impl, k, acc, a1, l1, a2, l2);
  if (len) impl->enc(k, ctr, acc, out, pt, len);
  tsr_aesgcm_finish(impl, k, acc, j0, (uint64_t)l1 + l2, len, out + len);
  tsr_stack_scrub();
  tsr_memzero(acc, sizeof acc);
  tsr_memzero(j0, sizeof j0);
  tsr_memzero(ctr, sizeof ctr);
}

int tsr_aesgcm_open(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12],
                    const uint8_t *ct, size_t len, const uint8_t tag[16], const uint8_t *a1, size_t l1,
                    const uint8_t *a2, size_t l2) {
  uint8_t want[16], got[16], buf[JOIN_MAX];
  const uint8_t *aad;
  size_t alen;
  memcpy(want, tag, 16); /* before out (which may alias ct and tag) is written */
  if (impl->aead && one_string(buf, a1, l1, a2, l2, &aad, &alen)) {
    impl->aead(k, 0, out, iv, ct, len, aad, alen, got);
    if (aad == buf) tsr_memzero(buf, alen);
  } else {
    uint8_t acc[16] = {0}, j0[16], ctr[16];
    tsr_aesgcm_j0(j0, ctr, iv);
    tsr_aesgcm_hash_aad(impl, k, acc, a1, l1, a2, l2);
    if (len) impl->dec(k, ctr, acc, out, ct, len);
    tsr_aesgcm_finish(impl, k, acc, j0, (uint64_t)l1 + l2, len, got);
    tsr_memzero(acc, sizeof acc);
    tsr_memzero(j0, sizeof j0);
    tsr_memzero(ctr, sizeof ctr);
  }
  tsr_stack_scrub(); /* what the compiler spilled in the kernels */
  int rc = tsr_ct_compare(got, want, 16);
  if (rc != 0 && len) tsr_memzero(out, len); /* never release unauthenticated plaintext */
  tsr_memzero(got, sizeof got);
  return rc;
}
