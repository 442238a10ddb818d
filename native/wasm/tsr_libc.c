/*
 * The libc the shared core needs under -nostdlib: memcpy/memmove/memset as
 * the bulk-memory instructions memory.copy / memory.fill (clang lowers the
 * builtins to them with -mbulk-memory, so these do not recurse), and memcmp
 * and strlen (only ever used on public data; secrets go through
 * tsr_ct_compare).
 */
#include <string.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  __builtin_memcpy(dst, src, n);
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  __builtin_memmove(dst, src, n);
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  __builtin_memset(dst, c, n);
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}
