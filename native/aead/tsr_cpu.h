/*
 * tsr_cpu: the x86-64 features the AEAD kernels need, read once with CPUID
 * and XGETBV (Intel SDM vol. 1 section 13.3 / 15.2: a feature is usable only
 * if the OS saves its register state, XCR0). Non-x86 builds report none.
 */
#ifndef TSR_CPU_H
#define TSR_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
  TSR_CPU_AESNI = 1u << 0,      /* AES-NI + PCLMULQDQ + SSSE3/SSE4.1 */
  TSR_CPU_AVX2 = 1u << 1,       /* AVX2 (ymm state enabled by the OS) */
  TSR_CPU_VAES256 = 1u << 2,    /* VAES + VPCLMULQDQ on ymm, with AVX2 */
  TSR_CPU_AVX512 = 1u << 3,     /* AVX-512 F/BW/VL (zmm + opmask state enabled) */
  TSR_CPU_VAES512 = 1u << 4,    /* VAES + VPCLMULQDQ on zmm, with TSR_CPU_AVX512 */
  TSR_CPU_AVX512IFMA = 1u << 5, /* AVX512-IFMA (vpmadd52luq/huq), with TSR_CPU_AVX512 */
  TSR_CPU_BMI2 = 1u << 6        /* BMI2 + ADX (mulx/adcx/adox) */
};

/* The feature bits of this CPU (computed on first call, then cached). In
 * builds with TSR_TEST_HOOKS only (the C tests and the addon's test build),
 * the environment variable TSR_TEST_CPU_MASK (hex) clears bits of the mask
 * and the bits that depend on them, to simulate a smaller CPU. */
unsigned tsr_cpu_features(void);

#ifdef __cplusplus
}
#endif
#endif
