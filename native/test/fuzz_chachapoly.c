/*
 * libFuzzer target for the ChaCha20-Poly1305 kernels (native/aead/chachapoly):
 * input = key (32) || nonce (12) || aad length (2, le) || split (2, le) ||
 * flip position (2, le) || aad || plaintext. Every tier combination the CPU
 * supports must seal exactly like OpenSSL's EVP chacha20-poly1305 (aad given
 * as a1 || a2 split at `split`), open its output back, and reject the
 * ciphertext or tag with one bit flipped (-1, out zeroed).
 * Build: clang-19 -O1 -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Inative
 *        native/test/fuzz_chachapoly.c native/aead/chachapoly/[a-z]*.c native/aead/tsr_cpu.c
 *        native/util/tsr_util.c native/secmem/tsr_secmem.c -lcrypto -lpthread
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../aead/chachapoly/tsr_chachapoly_kern.h"
#include "../aead/tsr_cpu.h"
#include "../secmem/tsr_secmem.h"

static void ossl_seal(uint8_t *out, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *pt, size_t ptlen,
                      const uint8_t *aad, size_t aadlen) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce);
  if (ok && aadlen) ok = EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen);
  if (ok && ptlen) ok = EVP_EncryptUpdate(c, out, &n, pt, (int)ptlen);
  if (ok) ok = EVP_EncryptFinal_ex(c, out + ptlen, &n);
  if (ok) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + ptlen);
  EVP_CIPHER_CTX_free(c);
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static tsr_poly1305_kstate *ps;
  static const tsr_chacha20_impl *cs[2];
  static const tsr_poly1305_impl *pp[3];
  static int nc, np;
  if (!ps) {
    unsigned f = tsr_cpu_features();
    if (f & TSR_CPU_AVX2) cs[nc++] = &tsr_chacha20_avx2;
    if (f & TSR_CPU_AVX512) cs[nc++] = &tsr_chacha20_avx512;
    pp[np++] = &tsr_poly1305_scalar64;
    if (f & TSR_CPU_AVX2) pp[np++] = &tsr_poly1305_avx2;
    if (f & TSR_CPU_AVX512IFMA) pp[np++] = &tsr_poly1305_ifma;
    ps = tsr_secmem_alloc(sizeof *ps);
    if (!ps) abort();
  }
  if (size < 50) return 0;
  const uint8_t *key = data, *nonce = data + 32;
  size_t rest = size - 50;
  size_t aadlen = (size_t)(data[44] | (data[45] << 8)) % (rest + 1);
  size_t split = aadlen ? (size_t)(data[46] | (data[47] << 8)) % (aadlen + 1) : 0;
  size_t flip = (size_t)(data[48] | (data[49] << 8));
  const uint8_t *aad = data + 50, *pt = aad + aadlen;
  size_t len = rest - aadlen;
  /* Copies in malloc'd buffers so that ASan sees any overrun of the exact length. */
  uint8_t *a1 = malloc(split + 1), *a2 = malloc(aadlen - split + 1), *m = malloc(len + 1);
  uint8_t *ref = malloc(len + 16), *got = malloc(len + 16), *back = malloc(len + 1);
  memcpy(a1, aad, split);
  memcpy(a2, aad + split, aadlen - split);
  memcpy(m, pt, len);
  ossl_seal(ref, key, nonce, m, len, aad, aadlen);
  for (int ci = 0; ci < nc; ci++)
    for (int pi = 0; pi < np; pi++) {
      tsr_chachapoly_kern_seal(cs[ci], pp[pi], ps, key, got, nonce, m, len, a1, split, a2, aadlen - split);
      if (memcmp(got, ref, len + 16) != 0) abort();
      if (tsr_chachapoly_kern_open(cs[ci], pp[pi], ps, key, back, nonce, got, len, got + len, a1, split, a2,
                                   aadlen - split) != 0 ||
          memcmp(back, m, len) != 0)
        abort();
      /* one flipped bit in ct || tag */
      size_t pos = flip % (len + 16);
      got[pos] ^= (uint8_t)(1u << (flip >> 13));
      memset(back, 0xa5, len);
      if (tsr_chachapoly_kern_open(cs[ci], pp[pi], ps, key, back, nonce, got, len, got + len, a1, split, a2,
                                   aadlen - split) != -1)
        abort();
      for (size_t i = 0; i < len; i++)
        if (back[i]) abort();
      /* in place: open over the (restored) ciphertext */
      got[pos] ^= (uint8_t)(1u << (flip >> 13));
      if (tsr_chachapoly_kern_open(cs[ci], pp[pi], ps, key, got, nonce, got, len, got + len, a1, split, a2,
                                   aadlen - split) != 0 ||
          memcmp(got, m, len) != 0)
        abort();
    }
  free(a1);
  free(a2);
  free(m);
  free(ref);
  free(got);
  free(back);
  return 0;
}
