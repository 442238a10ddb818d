/* libFuzzer target for tessera's x86-64 AES-GCM kernels: the input chooses
 * key size, key, iv, AAD (and where it splits into a1 || a2), plaintext and
 * buffer offsets; every tier the CPU supports must seal exactly as OpenSSL,
 * open its own output, and reject (-1, output zeroed) a ciphertext, tag or
 * AAD with one bit flipped. Build:
 *   clang-19 -O1 -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Inative \
 *     native/test/fuzz_aesgcm.c native/aead/aesgcm/{tsr_aesgcm,aesni,vaes256,vaes512}.c \
 *     native/aead/tsr_cpu.c native/util/tsr_util.c -lcrypto -o fuzz_aesgcm */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../aead/aesgcm/tsr_aesgcm.h"
#include "../aead/tsr_cpu.h"

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static void ref_seal(size_t kl, const uint8_t *key, const uint8_t *iv, const uint8_t *aad, size_t al, const uint8_t *pt,
                     size_t len, uint8_t *out) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0;
  CHECK(c);
  EVP_EncryptInit_ex(c, kl == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), NULL, key, iv);
  if (al) EVP_EncryptUpdate(c, NULL, &n, aad, (int)al);
  if (len) EVP_EncryptUpdate(c, out, &n, pt, (int)len);
  EVP_EncryptFinal_ex(c, out + len, &n);
  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + len);
  EVP_CIPHER_CTX_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* header: flags, split (2 bytes), aad length (2 bytes), offsets, flip */
  if (size < 8 + 32 + 12) return 0;
  const unsigned flags = data[0];
  const size_t kl = (flags & 1) ? 32 : 16;
  size_t split = (size_t)data[1] | ((size_t)data[2] << 8);
  size_t al = ((size_t)data[3] | ((size_t)data[4] << 8)) % 1200;
  const size_t ioff = data[5] % 64, ooff = data[6] % 64;
  const unsigned flip = data[7];
  data += 8;
  size -= 8;
  uint8_t key[32] = {0}, iv[12];
  memcpy(key, data, kl);
  memcpy(iv, data + 32, 12);
  data += 44;
  size -= 44;
  if (al > size) al = size;
  split = al ? split % (al + 1) : 0;
  const uint8_t *aad = data;
  const size_t len = size - al;

  uint8_t *in = malloc(len + 16 + 64), *out = malloc(len + 16 + 64), *ref = malloc(len + 16);
  uint8_t *a2 = malloc(al - split + 1);
  tsr_aesgcm_key *k = aligned_alloc(16, sizeof *k);
  CHECK(in && out && ref && a2 && k);
  memcpy(in + ioff, data + al, len);
  memcpy(a2, aad + split, al - split);
  ref_seal(kl, key, iv, aad, al, in + ioff, len, ref);

  const unsigned f = tsr_cpu_features();
  const tsr_aesgcm_impl *tiers[3] = {(f & TSR_CPU_AESNI) ? &tsr_aesgcm_aesni : NULL,
                                     (f & TSR_CPU_VAES256) ? &tsr_aesgcm_vaes256 : NULL,
                                     (f & TSR_CPU_VAES512) ? &tsr_aesgcm_vaes512 : NULL};
  for (int t = 0; t < 3; t++) {
    const tsr_aesgcm_impl *im = tiers[t];
    if (!im) continue;
    im->init(k, key, kl);
    const int inplace = (flags >> 1) & 1;
    uint8_t *o = inplace ? in + ioff : out + ooff;
    if (inplace) memcpy(in + ioff, data + al, len);
    tsr_aesgcm_seal(im, k, o, iv, in + ioff, len, aad, split, a2, al - split);
    CHECK(memcmp(o, ref, len + 16) == 0);
    uint8_t tag[16];
    memcpy(tag, o + len, 16);
    CHECK(tsr_aesgcm_open(im, k, o, iv, o, len, tag, aad, split, a2, al - split) == 0);
    CHECK(memcmp(o, data + al, len) == 0);
    /* one flipped bit: in the ciphertext, the tag or the AAD */
    memcpy(out + ooff, ref, len + 16);
    size_t where = ((size_t)flip * 2654435761u) % (len + 16 + al);
    const uint8_t bit = (uint8_t)(1u << (flip & 7));
    uint8_t *a1m = NULL;
    if (where < len + 16) {
      out[ooff + where] ^= bit;
    } else if (where - len - 16 < split) {
      a1m = malloc(al + 1);
      CHECK(a1m);
      memcpy(a1m, aad, al);
      a1m[where - len - 16] ^= bit;
    } else {
      a2[where - len - 16 - split] ^= bit;
    }
    memcpy(tag, out + ooff + len, 16);
    CHECK(tsr_aesgcm_open(im, k, out + ooff, iv, out + ooff, len, tag, a1m ? a1m : aad, split, a2, al - split) == -1);
    for (size_t i = 0; i < len; i++) CHECK(out[ooff + i] == 0);
    memcpy(a2, aad + split, al - split);
    free(a1m);
  }
  free(in);
  free(out);
  free(ref);
  free(a2);
  free(k);
  return 0;
}
