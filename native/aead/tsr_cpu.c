/* See tsr_cpu.h. Constant time is not a concern here: nothing secret. */
#include "tsr_cpu.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <stdint.h>
#ifdef TSR_TEST_HOOKS
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#endif

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static unsigned detect(void) {
  unsigned a, b, c, d, f = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  const int aes = (c >> 25) & 1, pclmul = (c >> 1) & 1, ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
  const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (aes && pclmul && ssse3 && sse41) f |= TSR_CPU_AESNI;
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = xgetbv0();
  const int ymm_os = (xcr0 & 0x6) == 0x6;   /* XMM and YMM state */
  const int zmm_os = (xcr0 & 0xe6) == 0xe6; /* plus opmask, ZMM_Hi256, Hi16_ZMM */
  if (__get_cpuid_max(0, 0) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const int avx2 = (b >> 5) & 1, bmi2 = (b >> 8) & 1, adx = (b >> 19) & 1;
  const int avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1, ifma = (b >> 21) & 1;
  const int vaes = (c >> 9) & 1, vpclmul = (c >> 10) & 1;
  if (bmi2 && adx) f |= TSR_CPU_BMI2;
  if (!ymm_os || !avx2) return f;
  f |= TSR_CPU_AVX2;
  if (vaes && vpclmul && (f & TSR_CPU_AESNI)) f |= TSR_CPU_VAES256;
  if (!zmm_os || !avx512f || !avx512bw || !avx512vl) return f;
  f |= TSR_CPU_AVX512;
  if (f & TSR_CPU_VAES256) f |= TSR_CPU_VAES512;
  if (ifma) f |= TSR_CPU_AVX512IFMA;
  return f;
}

#ifdef TSR_TEST_HOOKS
/* Test build only (TSR_TEST_HOOKS; never in the addon `npm install` builds):
 * TSR_TEST_CPU_MASK=<hex> clears those feature bits, and every bit that
 * needs one of them as detect() does, so the tests can play a CPU without
 * AVX-512, VAES or AES-NI. A value that is not hex aborts. */
static unsigned test_mask(unsigned f) {
  const char *v = getenv("TSR_TEST_CPU_MASK");
  if (v == NULL || *v == 0) return f;
  char *end = NULL;
  errno = 0;
  const unsigned long m = strtoul(v, &end, 16);
  if (errno != 0 || end == v || *end != 0) {
    fprintf(stderr, "TSR_TEST_CPU_MASK=%s is not a hex bitmask\n", v);
    abort();
  }
  f &= ~(unsigned)m;
  if (!(f & TSR_CPU_AESNI) || !(f & TSR_CPU_AVX2)) f &= ~(unsigned)TSR_CPU_VAES256;
  if (!(f & TSR_CPU_AVX2)) f &= ~(unsigned)TSR_CPU_AVX512;
  if (!(f & TSR_CPU_AVX512) || !(f & TSR_CPU_VAES256)) f &= ~(unsigned)TSR_CPU_VAES512;
  if (!(f & TSR_CPU_AVX512)) f &= ~(unsigned)TSR_CPU_AVX512IFMA;
  return f;
}
#else
static unsigned test_mask(unsigned f) {
  return f;
}
#endif

unsigned tsr_cpu_features(void) {
  /* A benign race: every thread computes the same value. */
  static volatile int done;
  static volatile unsigned cached;
  if (!done) {
    cached = test_mask(detect());
    done = 1;
  }
  return cached;
}
#else
unsigned tsr_cpu_features(void) {
  return 0;
}
#endif
