/*
 * tsr_kernel: which implementation runs each AEAD (the one dispatch of
 * native/aead). Chosen once per process from the CPU (tsr_cpu) and
 * TESSERA_NATIVE_KERNEL=auto|vaes512|vaes256|aesni|openssl; a context keeps
 * the tier it was made with (tsr_aead_ctx_new_tier), so one process can
 * hold keys of several tiers (tests, benchmarks).
 *
 * Per tier: AES-GCM (AES-256, AES-128, XAES-256-GCM) on the named AES kernel;
 * ChaCha20-Poly1305 and XChaCha20-Poly1305 on the same vector width
 * (vaes512: AVX-512 ChaCha20 with AVX512-IFMA Poly1305 where present, else
 * AVX2 Poly1305; vaes256 and aesni: AVX2 ChaCha20 + AVX2 Poly1305 where AVX2
 * exists, else OpenSSL); openssl: OpenSSL EVP for everything (whose contexts
 * keep key schedules in OpenSSL's heap, outside locked memory).
 */
#ifndef TSR_KERNEL_H
#define TSR_KERNEL_H

#include "tsr_aead.h"
#include "aesgcm/tsr_aesgcm.h"
#include "chachapoly/tsr_chachapoly_kern.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  TSR_TIER_OPENSSL = 0,
  TSR_TIER_AESNI = 1,
  TSR_TIER_VAES256 = 2,
  TSR_TIER_VAES512 = 3,
  TSR_TIER_AUTO = 4, /* tsr_kernel_resolve: the best this CPU runs */
  TSR_TIER_INVALID = -1
} tsr_tier;

/* The implementations of one tier (NULL members: that family runs on OpenSSL). */
typedef struct {
  tsr_tier tier;
  const tsr_aesgcm_impl *gcm;
  const tsr_chacha20_impl *chacha;
  const tsr_poly1305_impl *poly;
} tsr_kernel;

/* "auto", "vaes512", "vaes256", "aesni", "openssl" -> tier; anything else
 * is TSR_TIER_INVALID. */
tsr_tier tsr_kernel_parse(const char *name);
const char *tsr_kernel_tier_name(tsr_tier t);

/* The implementations of tier t on this CPU (TSR_TIER_AUTO: the best).
 * Returns 0, or -1 when the CPU cannot run t; then *missing names what it
 * lacks (e.g. "VAES and VPCLMULQDQ on zmm (AVX-512F/BW/VL)"). */
int tsr_kernel_resolve(tsr_tier t, tsr_kernel *out, const char **missing);

/* The process default: TESSERA_NATIVE_KERNEL read on first call (unset or
 * empty = auto). Returns 0, or -1 with *why set when the variable names an
 * unknown tier or one this CPU cannot run (contexts then fail with
 * TSR_ERR_BACKEND; nothing falls back silently). */
int tsr_kernel_default(tsr_kernel *out, const char **why);

/* The implementation names for each family of kernel k ("vaes512",
 * "avx512+ifma", "openssl", ...), for nativeKernels() and `tessera selftest`. */
const char *tsr_kernel_name(const tsr_kernel *k, int chacha);

/* A context on kernel k instead of the process default (tsr_aead_ctx_new):
 * async jobs and pool helpers copy their parent's kernel, and the tests and
 * benchmarks compare tiers in one process. */
tsr_aead_ctx *tsr_aead_ctx_new_kernel(tsr_aead_alg alg, const uint8_t *key, const tsr_kernel *k, tsr_status *status);
const tsr_kernel *tsr_aead_ctx_kernel(const tsr_aead_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
