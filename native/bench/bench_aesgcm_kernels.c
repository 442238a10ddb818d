/* Single-thread AES-GCM cost of each tsr_aesgcm tier the CPU supports and
 * of OpenSSL's EVP (the system libcrypto), seal and open (through
 * tsr_aesgcm_seal/open, the front every tier shares), at message sizes
 * 64 B..1 MiB with 16 bytes of AAD: ns per message and GB/s, each the
 * median of 3 runs of the fastest batch (see run). OpenSSL is driven as tessera's openssl tier drives it:
 * one EVP_CIPHER_CTX per direction keyed once, EVP_CipherInit_ex2 with a
 * NULL key and the IV per message. Usage: bench_aesgcm_kernels [seconds per
 * run, default 0.1] [key bytes 16|32, default 32]. TSR_BENCH_ONLY limits the
 * rows to names containing it, or to one of a comma-separated list ("openssl"
 * names the EVP rows). */
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

/* op: 0 seal, 1 open. impl NULL = OpenSSL. Returns ns per message of the
 * fastest batch (64 messages, or one from 16 KiB): the machine may be
 * shared, and the fastest batch is the one no other work interrupted. */
static double run(const tsr_aesgcm_impl *impl, const tsr_aesgcm_key *k, int op, uint8_t *buf, uint8_t *ct, size_t len,
                  double secs) {
  uint8_t iv[12] = {1, 2, 3}, aad[16] = {0}, tag[16];
  double t0 = now(), t, best = 1e30;
  memcpy(tag, ct + len, 16);
  do {
    const double b0 = now();
    int r = 0;
    for (; r < 64; r++) {
      if (impl && op == 0)
        tsr_aesgcm_seal(impl, k, buf, iv, buf, len, aad, 16, NULL, 0);
      else if (impl)
        sink += tsr_aesgcm_open(impl, k, buf, iv, ct, len, tag, aad, 16, NULL, 0);
      else {
        int n;
        EVP_CIPHER_CTX *x = op == 0 ? ectx : dctx;
        EVP_CipherInit_ex2(x, NULL, NULL, iv, op == 0, NULL);
        EVP_CipherUpdate(x, NULL, &n, aad, 16);
        if (op == 0) {
          EVP_CipherUpdate(x, buf, &n, buf, (int)len);
          EVP_CipherFinal_ex(x, buf + len, &n);
          EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, buf + len);
        } else {
          EVP_CipherUpdate(x, buf, &n, ct, (int)len);
          EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, tag);
          sink += EVP_CipherFinal_ex(x, buf + len, &n);
        }
      }
      if (len >= (1u << 14)) break;
    }
    t = now();
    if ((t - b0) / (r + 1) < best) best = (t - b0) / (r + 1);
  } while (t - t0 < secs);
  return best * 1e9;
}

/* Whether TSR_BENCH_ONLY (unset: all) selects the row name. */
static int selected(const char *name) {
  const char *only = getenv("TSR_BENCH_ONLY");
  if (!only || !*only) return 1;
  char list[256], *save = NULL;
  snprintf(list, sizeof list, "%s", only);
  for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (strstr(name, t)) return 1;
  return 0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 0.1;
  size_t kl = argc > 2 ? (size_t)atoi(argv[2]) : 32;
  enum { NS = 7 };
  const size_t sizes[NS] = {64, 256, 1024, 4096, 16384, 65536, 1u << 20};
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
  EVP_CipherInit_ex2(ectx, c, key, NULL, 1, NULL);
  EVP_CipherInit_ex2(dctx, c, key, NULL, 0, NULL);
  double ns[4][2][NS];
  int on[4];
  for (int i = 0; i < 4; i++)
    on[i] = (!impls[i] || (tsr_cpu_features() & need[i])) && selected(impls[i] ? impls[i]->name : "openssl");
  for (int i = 0; i < 4; i++) {
    const tsr_aesgcm_impl *im = impls[i];
    if (!on[i]) continue;
    for (int op = 0; op < 2; op++)
      for (int s = 0; s < NS; s++) {
        uint8_t iv[12] = {1, 2, 3}, aad[16] = {0};
        double r[3];
        tsr_aesgcm_aesni.init(k, key, kl);
        tsr_aesgcm_seal(&tsr_aesgcm_aesni, k, ct, iv, buf, sizes[s], aad, 16, NULL, 0);
        if (im) im->init(k, key, kl);
        for (int rep = 0; rep < 3; rep++) r[rep] = run(im, k, op, buf, ct, sizes[s], secs);
        qsort(r, 3, sizeof *r, cmp);
        ns[i][op][s] = r[1];
      }
  }
  for (int unit = 0; unit < 2; unit++) {
    printf("AES-%zu-GCM %s (1 thread, 16 B aad, median of 3) %s", 8 * kl, unit ? "GB/s" : "ns/msg", unit ? "  " : "");
    for (int s = 0; s < NS; s++) printf(" %9zu", sizes[s]);
    printf("\n");
    for (int i = 0; i < 4; i++) {
      if (!on[i]) continue;
      for (int op = 0; op < 2; op++) {
        printf("%-40s %-5s", impls[i] ? impls[i]->name : "openssl", op ? "open" : "seal");
        for (int s = 0; s < NS; s++)
          printf(unit ? " %9.2f" : " %9.1f", unit ? (double)sizes[s] / ns[i][op][s] : ns[i][op][s]);
        printf("\n");
      }
    }
  }
  EVP_CIPHER_CTX_free(ectx);
  EVP_CIPHER_CTX_free(dctx);
  free(k);
  free(buf);
  free(ct);
  return sink == 12345;
}
