/* See tsr_kernel.h. Nothing here depends on secret data. */
#include "tsr_kernel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_cpu.h"

static const char *const NAMES[] = {"openssl", "aesni", "vaes256", "vaes512", "auto"};

tsr_tier tsr_kernel_parse(const char *name) {
  if (!name || !*name) return TSR_TIER_AUTO;
  for (int i = 0; i < 5; i++)
    if (strcmp(name, NAMES[i]) == 0) return (tsr_tier)i;
  return TSR_TIER_INVALID;
}

const char *tsr_kernel_tier_name(tsr_tier t) {
  return (t >= 0 && t <= TSR_TIER_AUTO) ? NAMES[t] : "invalid";
}

int tsr_kernel_resolve(tsr_tier t, tsr_kernel *out, const char **missing) {
  const unsigned f = tsr_cpu_features();
  if (t == TSR_TIER_AUTO)
    t = (f & TSR_CPU_VAES512)   ? TSR_TIER_VAES512
        : (f & TSR_CPU_VAES256) ? TSR_TIER_VAES256
        : (f & TSR_CPU_AESNI)   ? TSR_TIER_AESNI
                                : TSR_TIER_OPENSSL;
  memset(out, 0, sizeof *out);
  out->tier = t;
  switch (t) {
    case TSR_TIER_OPENSSL:
      return 0;
    case TSR_TIER_VAES512:
      if (!(f & TSR_CPU_VAES512)) {
        *missing = "AVX-512 (F, BW, VL) with VAES and VPCLMULQDQ, enabled by the OS";
        return -1;
      }
      out->gcm = &tsr_aesgcm_vaes512;
      out->chacha = &tsr_chacha20_avx512;
      out->poly = (f & TSR_CPU_AVX512IFMA) ? &tsr_poly1305_ifma : &tsr_poly1305_avx2;
      return 0;
    case TSR_TIER_VAES256:
      if (!(f & TSR_CPU_VAES256)) {
        *missing = "AVX2 with VAES and VPCLMULQDQ, enabled by the OS";
        return -1;
      }
      out->gcm = &tsr_aesgcm_vaes256;
      break;
    case TSR_TIER_AESNI:
      if (!(f & TSR_CPU_AESNI)) {
        *missing = "AES-NI with PCLMULQDQ and SSE4.1";
        return -1;
      }
      out->gcm = &tsr_aesgcm_aesni;
      break;
    default:
      *missing = "a known tier";
      return -1;
  }
  if (f & TSR_CPU_AVX2) {
    out->chacha = &tsr_chacha20_avx2;
    out->poly = &tsr_poly1305_avx2;
  }
  return 0;
}

static tsr_kernel g_default;
static int g_default_ok;
static char g_why[192];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void pick_default(void) {
  const char *v = getenv("TESSERA_NATIVE_KERNEL");
  tsr_tier t = tsr_kernel_parse(v);
  const char *missing = NULL;
  if (t == TSR_TIER_INVALID) {
    snprintf(g_why, sizeof g_why, "TESSERA_NATIVE_KERNEL must be auto, vaes512, vaes256, aesni or openssl");
  } else if (tsr_kernel_resolve(t, &g_default, &missing) != 0) {
    snprintf(g_why, sizeof g_why, "TESSERA_NATIVE_KERNEL=%s: this CPU lacks %s", tsr_kernel_tier_name(t), missing);
  } else {
    g_default_ok = 1;
  }
}

int tsr_kernel_default(tsr_kernel *out, const char **why) {
  pthread_once(&g_once, pick_default);
  if (!g_default_ok) {
    *why = g_why;
    return -1;
  }
  *out = g_default;
  return 0;
}

const char *tsr_kernel_name(const tsr_kernel *k, int chacha) {
  if (!chacha) return k->gcm ? k->gcm->name : "openssl";
  if (!k->chacha) return "openssl";
  if (k->chacha == &tsr_chacha20_avx512) return k->poly == &tsr_poly1305_ifma ? "avx512+ifma" : "avx512";
  return "avx2";
}
