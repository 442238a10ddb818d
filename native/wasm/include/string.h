/*
 * The <string.h> functions the shared core uses, for the WASM build
 * (no libc: -nostdlib). Defined in tsr_libc.c with bulk-memory instructions.
 */
#ifndef TSR_WASM_STRING_H
#define TSR_WASM_STRING_H
#include <stddef.h>
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
#endif
