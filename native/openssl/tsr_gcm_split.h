/*
 * One AES-256-GCM message on two cores (internal to the OpenSSL backend).
 *
 * OpenSSL has no call that runs one GCM message on two threads, so the
 * message is cut at a block boundary and each part gets CTR encryption
 * (AES-256-CTR at the part's own counter) plus a GHASH of its ciphertext,
 * read from a GMAC (a GCM tag over "associated data" only, with a fixed
 * nonce IV'): G = GMAC ^ E(IV' || 1) = GHASH(X || L_X) = (Y_X ^ L_X) * H.
 * GHASH is linear, so with Z_X = G ^ L_X * H = Y_X * H the tag of
 * A || C1 || C2 (SP 800-38D section 7.1) is
 *
 *   S = Z_A * H^(k1 + k2)  ^  Z_C1 * H^k2  ^  Z_C2  ^  L * H,   T = S ^ E(J0)
 *
 * with k1, k2 the block counts of C1, C2 and L = [len A]_64 || [len C]_64.
 */
#ifndef TSR_GCM_SPLIT_H
#define TSR_GCM_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "../aead/tsr_aead.h"

/* Messages below this size run on one thread (the hop and the GF(2^128)
 * arithmetic cost ~20 us; measured break-even is far below this). */
#define TSR_GCM_SPLIT_MIN ((size_t)256 << 10)

typedef struct tsr_gcm_split tsr_gcm_split;

tsr_gcm_split *tsr_gcm_split_new(void);
void tsr_gcm_split_free(tsr_gcm_split *s);

/*
 * Seals (enc = 1: tag written) or opens (enc = 0: tag checked, out wiped on
 * mismatch) len bytes with AES-256-GCM under key and the 12-byte iv, the
 * associated data being a1 || a2. rekey = 0 reuses the key of the previous
 * call on this object. out may equal in.
 */
tsr_status tsr_gcm_split_run(tsr_gcm_split *s, const uint8_t key[32], int rekey, int enc, uint8_t *out,
                             const uint8_t iv[12], const uint8_t *in, size_t len, const uint8_t *a1, size_t l1,
                             const uint8_t *a2, size_t l2, uint8_t tag[16]);

#endif
