/* tsr_util: small constant-time helpers shared by every backend. */
#ifndef TSR_UTIL_H
#define TSR_UTIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Zeroizes n bytes in a way the compiler may not elide (dead-store safe). */
void tsr_memzero(void *p, size_t n);

/* Zeroes TSR_STACK_SCRUB_BYTES of stack below the caller's frame: called
 * right after a vector kernel returns, it wipes what the compiler spilled
 * into the kernel's frame (never inlined, so its frame is where the
 * kernel's was). */
#define TSR_STACK_SCRUB_BYTES 2048
void tsr_stack_scrub(void);

/* 0 if equal, -1 otherwise; time depends on n only. */
int tsr_ct_compare(const uint8_t *a, const uint8_t *b, size_t n);

static inline uint32_t tsr_load32_le(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline void tsr_store32_le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t tsr_load32_be(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline void tsr_store32_be(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static inline uint64_t tsr_load64_be(const uint8_t *p) {
  return ((uint64_t)tsr_load32_be(p) << 32) | tsr_load32_be(p + 4);
}
static inline void tsr_store64_be(uint8_t *p, uint64_t v) {
  tsr_store32_be(p, (uint32_t)(v >> 32));
  tsr_store32_be(p + 4, (uint32_t)v);
}

/* __builtin_memcpy: under -ffreestanding (the wasm build) plain memcpy is
 * an out-of-line call, not a load. */
static inline uint64_t tsr_load64_le(const uint8_t *p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}
static inline void tsr_store64_le(uint8_t *p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  __builtin_memcpy(p, &v, 8);
}

#ifdef __cplusplus
}
#endif
#endif
