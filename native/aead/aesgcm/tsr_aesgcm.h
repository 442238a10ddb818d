/*
 * tsr_aesgcm: AES-GCM (NIST SP 800-38D) on tessera's own x86-64 kernels.
 *
 * A kernel (one file per CPU tier: aesni.c, vaes256.c, vaes512.c) provides
 * the bulk pieces below; tsr_aesgcm.c composes them into seal/open once for
 * every tier (J0, associated data a1 || a2, length block, tag), or hands
 * the whole message to the tier's one-call entry (aead) when it has one,
 * which saves the per-call register clears and key state reloads that
 * dominate short messages. The key
 * state (round keys, powers of H) lives in memory the caller allocates with
 * tsr_secmem, so no key-derived byte sits in ordinary heap.
 *
 * Block order: `acc` and counter blocks are in SP 800-38D byte order (the
 * block as it appears on the wire); each kernel converts internally.
 */
#ifndef TSR_AESGCM_H
#define TSR_AESGCM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Expanded key state of every tier (sizes fixed so the front can allocate
 * it without knowing the tier). 64-byte members keep zmm loads in one line
 * when the block is 64-byte aligned (tsr_secmem gives 16: kernels use
 * unaligned loads). */
typedef struct {
  uint8_t rk[15 * 16]; /* encryption round keys, FIPS 197 section 5.2 */
  uint32_t rounds;     /* 10 (AES-128) or 14 (AES-256) */
  uint32_t pad_[3];
  uint8_t h[16 * 16 * 2]; /* tier-specific: powers of H (and any precomputed halves) */
} tsr_aesgcm_key;

typedef struct {
  const char *name; /* "aesni", "vaes256", "vaes512" */
  /* Expands key (keylen 16 or 32) into k and computes the powers of
   * H = E_K(0^128) the tier needs. */
  void (*init)(tsr_aesgcm_key *k, const uint8_t *key, size_t keylen);
  /* out[i] = E_K(in[i]) for nblocks 16-byte blocks (J0 of the tag, XAES's
   * key derivation). out may equal in. */
  void (*ecb)(const tsr_aesgcm_key *k, uint8_t *out, const uint8_t *in, size_t nblocks);
  /* acc = GHASH_H(acc, in), in zero-padded to a multiple of 16 bytes. */
  void (*ghash)(const tsr_aesgcm_key *k, uint8_t acc[16], const uint8_t *in, size_t len);
  /* GCTR (SP 800-38D section 6.5) of len bytes from counter block ctr, whose
   * last 4 bytes are incremented big-endian mod 2^32 per block and written
   * back; the ciphertext (out for enc, in for dec) is folded into acc as by
   * ghash. A len that is not a multiple of 16 ends the message (its last
   * block is zero-padded into GHASH). out may equal in; any alignment. */
  void (*enc)(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t acc[16], uint8_t *out, const uint8_t *in, size_t len);
  void (*dec)(const tsr_aesgcm_key *k, uint8_t ctr[16], uint8_t acc[16], uint8_t *out, const uint8_t *in, size_t len);
  /* A whole message in one call (SP 800-38D section 7, 96-bit IV), so a
   * short message pays for one entry, one load of the key state and one
   * register clear: out = GCTR_K(inc32(J0), in) (len bytes, out may equal
   * in), tag = E_K(J0) ^ GHASH_H(aad || 0^v || C || 0^u || [len(A)]64 ||
   * [len(C)]64) with C = out (enc != 0) or in. For dec the tag is the
   * expected one, for the caller to compare; out is written whatever it is.
   * aad is one string (the front joins a1 || a2). NULL: the front composes
   * the pieces above. */
  void (*aead)(const tsr_aesgcm_key *k, int enc, uint8_t *out, const uint8_t iv[12], const uint8_t *in, size_t len,
               const uint8_t *aad, size_t alen, uint8_t tag[16]);
} tsr_aesgcm_impl;

extern const tsr_aesgcm_impl tsr_aesgcm_aesni;
extern const tsr_aesgcm_impl tsr_aesgcm_vaes256;
extern const tsr_aesgcm_impl tsr_aesgcm_vaes512;

/* Seal: out = C || T (len + 16 bytes) under the 12-byte iv, associated data
 * a1 || a2. out may equal pt. */
void tsr_aesgcm_seal(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12],
                     const uint8_t *pt, size_t len, const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2);
/* Open: 0 and len bytes of plaintext in out, or -1 on a tag mismatch with
 * out zeroed. tag is read before out is written (out may equal ct). */
int tsr_aesgcm_open(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t *out, const uint8_t iv[12],
                    const uint8_t *ct, size_t len, const uint8_t tag[16], const uint8_t *a1, size_t l1,
                    const uint8_t *a2, size_t l2);

/* The steps of seal/open, for compositions that run the bulk elsewhere
 * (tsr_aesgcm_split.c): J0 and the first counter block inc32(J0); acc =
 * GHASH of a1 || a2 zero-padded; tag = E_K(J0) ^ GHASH(acc, lengths). */
void tsr_aesgcm_j0(uint8_t j0[16], uint8_t ctr[16], const uint8_t iv[12]);
void tsr_aesgcm_hash_aad(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t acc[16], const uint8_t *a1,
                         size_t l1, const uint8_t *a2, size_t l2);
void tsr_aesgcm_finish(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, uint8_t acc[16], uint8_t j0[16],
                       uint64_t alen, uint64_t clen, uint8_t tag[16]);

#ifdef __cplusplus
}
#endif
#endif
