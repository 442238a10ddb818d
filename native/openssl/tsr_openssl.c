/* What the OpenSSL tier's files share (tsr_openssl.h): ciphers fetched
 * once, and EVP updates over any length. */
#include "tsr_openssl.h"

#include <pthread.h>

static tsr_openssl_ciphers g_ciphers;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void fetch_ciphers(void) {
  g_ciphers.gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  g_ciphers.gcm128 = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
  g_ciphers.chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
  g_ciphers.ecb = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
  g_ciphers.ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
}

const tsr_openssl_ciphers *tsr_openssl_fetch(void) {
  pthread_once(&g_once, fetch_ciphers);
  return &g_ciphers;
}

int tsr_openssl_update(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in, size_t len) {
  int outl;
  while (len > 0) {
    int n = (int)(len < TSR_EVP_STEP ? len : TSR_EVP_STEP);
    if (EVP_CipherUpdate(c, out, &outl, in, n) != 1 || (out && outl != n)) return 0;
    if (out) out += n;
    in += n;
    len -= (size_t)n;
  }
  return 1;
}
