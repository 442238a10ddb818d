/* Single-thread AES-GCM throughput of each tsr_aesgcm tier the CPU supports
 * and of OpenSSL's EVP (the system libcrypto), seal and open, at a few
 * message sizes (16 bytes of AAD). Usage: bench_aesgcm_kernels [seconds per
 * point, default 0.2] [key bytes 16|32, default 32]. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../aead/aesgcm/tsr_aesgcm.h"
#include "../aead/tsr_cpu.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static EVP_CIPHER_CTX *ectx, *dctx;
static volatile int sink;

/* op: 0 seal, 1 open. impl NULL = OpenSSL. Returns GB/s. */
static double run(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, int op, uint8_t *buf, uint8_t *ct,
                  size_t len, double secs) {
  uint8_t iv[12] = {1, 2, 3}, aad[16] = {0}, tag[16];
  size_t iters = 0;
  double t0 = now(), t;
  memcpy(tag, ct + len, 16);
  do {
    for (int r = 0; r < 64; r++) {
      iters++;
      if (impl && op == 0) tsr_aesgcm_seal(impl, k, buf, iv, buf, len, aad, 16, NULL, 0);
      else if (impl) sink += tsr_aesgcm_open(impl, k, buf, iv, ct, len, tag, aad, 16, NULL, 0);
      else {
        int n;
        EVP_CIPHER_CTX *x = op == 0 ? ectx : dctx;
        if (op == 0) {
          EVP_EncryptInit_ex(x, NULL, NULL, NULL, iv);
          EVP_EncryptUpdate(x, NULL, &n, aad, 16);
          EVP_EncryptUpdate(x, buf, &n, buf, (int)len);
          EVP_EncryptFinal_ex(x, buf + len, &n);
          EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, buf + len);
        } else {
          EVP_DecryptInit_ex(x, NULL, NULL, NULL, iv);
          EVP_DecryptUpdate(x, NULL, &n, aad, 16);
          EVP_DecryptUpdate(x, buf, &n, ct, (int)len);
          EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, tag);
          sink += EVP_DecryptFinal_ex(x, buf + len, &n);
        }
      }
      if (len >= (1u << 18)) break;
    }
    t = now() - t0;
  } while (t < secs);
  return (double)len * (double)iters / t / 1e9;
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 0.2;
  size_t kl = argc > 2 ? (size_t)atoi(argv[2]) : 32;
  const size_t sizes[] = {64, 1024, 16384, 65536, 1u << 20};
  const tsr_aesgcm_impl *impls[] = {&tsr_aesgcm_aesni, &tsr_aesgcm_vaes256, &tsr_aesgcm_vaes512, NULL};
  const unsigned need[] = {TSR_CPU_AESNI, TSR_CPU_VAES256, TSR_CPU_VAES512, 0};
  uint8_t key[32];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)(i * 7 + 1);
  uint8_t *buf = aligned_alloc(64, (1u << 20) + 64), *ct = aligned_alloc(64, (1u << 20) + 64);
  memset(buf, 0x5a, (1u << 20) + 64);
  tsr_aesgcm_key *k = aligned_alloc(64, sizeof(tsr_aesgcm_key));
  ectx = EVP_CIPHER_CTX_new();
  dctx = EVP_CIPHER_CTX_new();
  const EVP_CIPHER *c = kl == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
  EVP_EncryptInit_ex(ectx, c, NULL, key, NULL);
  EVP_DecryptInit_ex(dctx, c, NULL, key, NULL);
  printf("AES-%zu-GCM GB/s (1 thread)  %-6s", 8 * kl, "op");
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) printf(" %9zu", sizes[s]);
  printf("\n");
  for (int i = 0; i < 4; i++) {
    const tsr_aesgcm_impl *im = impls[i];
    if (im && !(tsr_cpu_features() & need[i])) continue;
    if (im) im->init(k, key, kl);
    for (int op = 0; op < 2; op++) {
      printf("%-27s %-6s", im ? im->name : "openssl", op ? "open" : "seal");
      for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        uint8_t iv[12] = {1, 2, 3}, aad[16] = {0};
        tsr_aesgcm_aesni.init(k, key, kl);
        tsr_aesgcm_seal(&tsr_aesgcm_aesni, k, ct, iv, buf, sizes[s], aad, 16, NULL, 0);
        if (im) im->init(k, key, kl);
        printf(" %9.2f", run(im, k, op, buf, ct, sizes[s], secs));
        fflush(stdout);
      }
      printf("\n");
    }
  }
  EVP_CIPHER_CTX_free(ectx);
  EVP_CIPHER_CTX_free(dctx);
  free(k);
  free(buf);
  free(ct);
  return sink == 12345;
}
