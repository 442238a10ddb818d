/*
 * Single-thread throughput of the ChaCha20-Poly1305 kernel tiers
 * (native/aead/chachapoly) and OpenSSL's EVP chacha20-poly1305, seal and
 * open, at 64 B, 1 KiB, 16 KiB and 1 MiB (13-byte AAD), then the ChaCha20
 * keystream alone (each ChaCha20 tier vs OpenSSL's EVP chacha20). Prints
 * GB/s. TSR_BENCH_MS sets the time per point (default 150 ms); TSR_BENCH_ONLY
 * limits the tiers to names containing it ("openssl" matches the EVP rows).
 * OpenSSL picks its own code path from CPUID; OPENSSL_ia32cap=":~0x80210000"
 * (no AVX512F/IFMA/VL) makes it use its AVX2 code. TSR_BENCH_CPUTIME=1
 * times with the thread's CPU clock instead of the wall clock (on a machine
 * shared with other work, the time the thread waits for a core is left out).
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../aead/chachapoly/tsr_chachapoly_kern.h"
#include "../aead/tsr_cpu.h"
#include "../secmem/tsr_secmem.h"

static clockid_t clk = CLOCK_MONOTONIC;

static double now(void) {
  struct timespec t;
  clock_gettime(clk, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint8_t key[32], nonce[12], aad[13];
static uint8_t *buf, *out;
static double ms = 150;

typedef struct {
  const tsr_chacha20_impl *c;
  const tsr_poly1305_impl *p;
  tsr_poly1305_kstate *ps;
  EVP_CIPHER_CTX *e;
  int stream; /* ChaCha20 alone: c->xor_stream, or EVP chacha20 when !c */
} ctx;

static int run(ctx *x, int open, size_t len) {
  if (x->stream) {
    if (x->c) {
      x->c->xor_stream(out, buf, len, key, nonce, 1);
    } else {
      int n;
      uint8_t iv[16] = {1}; /* le32 counter 1 || nonce */
      memcpy(iv + 4, nonce, 12);
      EVP_EncryptInit_ex(x->e, NULL, NULL, key, iv);
      EVP_EncryptUpdate(x->e, out, &n, buf, (int)len);
    }
    return 1;
  }
  if (!x->c) {
    int n;
    if (!open) {
      EVP_EncryptInit_ex(x->e, NULL, NULL, key, nonce);
      EVP_EncryptUpdate(x->e, NULL, &n, aad, sizeof aad);
      EVP_EncryptUpdate(x->e, out, &n, buf, (int)len);
      EVP_EncryptFinal_ex(x->e, out + len, &n);
      return EVP_CIPHER_CTX_ctrl(x->e, EVP_CTRL_AEAD_GET_TAG, 16, out + len);
    }
    EVP_DecryptInit_ex(x->e, NULL, NULL, key, nonce);
    EVP_CIPHER_CTX_ctrl(x->e, EVP_CTRL_AEAD_SET_TAG, 16, out + len);
    EVP_DecryptUpdate(x->e, NULL, &n, aad, sizeof aad);
    EVP_DecryptUpdate(x->e, buf, &n, out, (int)len);
    return EVP_DecryptFinal_ex(x->e, buf + len, &n);
  }
  if (!open) {
    tsr_chachapoly_kern_seal(x->c, x->p, x->ps, key, out, nonce, buf, len, aad, sizeof aad, NULL, 0);
    return 1;
  }
  return tsr_chachapoly_kern_open(x->c, x->p, x->ps, key, buf, nonce, out, len, out + len, aad, sizeof aad, NULL, 0) ==
         0;
}

static double gbps(ctx *x, int open, size_t len) {
  if (x->stream) open = 0;
  run(x, 0, len); /* out = a valid sealed message for open */
  if (!run(x, open, len)) {
    fprintf(stderr, "open failed\n");
    exit(1);
  }
  size_t iters = 1;
  double best = 0;
  for (;;) { /* calibrate to ~ms / 3, then three runs, best */
    double t0 = now();
    for (size_t i = 0; i < iters; i++) run(x, open, len);
    double dt = now() - t0;
    if (dt > ms / 3e3) {
      best = (double)(iters * len) / dt;
      break;
    }
    iters *= 2;
  }
  for (int r = 0; r < 2; r++) {
    double t0 = now();
    for (size_t i = 0; i < iters; i++) run(x, open, len);
    double g = (double)(iters * len) / (now() - t0);
    if (g > best) best = g;
  }
  return best / 1e9;
}

int main(void) {
  static const size_t sizes[] = {64, 1024, 16384, 1u << 20};
  if (getenv("TSR_BENCH_MS")) ms = atof(getenv("TSR_BENCH_MS"));
  if (getenv("TSR_BENCH_CPUTIME") && atoi(getenv("TSR_BENCH_CPUTIME"))) clk = CLOCK_THREAD_CPUTIME_ID;
  buf = malloc((1u << 20) + 64);
  out = malloc((1u << 20) + 64);
  memset(buf, 7, (1u << 20) + 64);
  memset(key, 1, 32);
  unsigned f = tsr_cpu_features();
  const tsr_chacha20_impl *cs[2] = {0};
  const tsr_poly1305_impl *ps[3] = {0};
  int nc = 0, np = 0;
  if (f & TSR_CPU_AVX2) cs[nc++] = &tsr_chacha20_avx2;
  if (f & TSR_CPU_AVX512) cs[nc++] = &tsr_chacha20_avx512;
  ps[np++] = &tsr_poly1305_scalar64;
  if (f & TSR_CPU_AVX2) ps[np++] = &tsr_poly1305_avx2;
  if (f & TSR_CPU_AVX512IFMA) ps[np++] = &tsr_poly1305_ifma;
  tsr_poly1305_kstate *st = tsr_secmem_alloc(sizeof *st);
  printf("%-22s %-5s %9s %9s %9s %9s   (GB/s)\n", "tier", "op", "64B", "1KiB", "16KiB", "1MiB");
  const char *only = getenv("TSR_BENCH_ONLY");
  for (int i = -1; i < nc * np + 1 + nc; i++) {
    ctx x = {0};
    char name[64];
    if (i < 0) {
      x.e = EVP_CIPHER_CTX_new();
      EVP_EncryptInit_ex(x.e, EVP_chacha20_poly1305(), NULL, key, nonce);
      snprintf(name, sizeof name, "openssl-evp");
    } else if (i < nc * np) {
      x.c = cs[i / np];
      x.p = ps[i % np];
      x.ps = st;
      snprintf(name, sizeof name, "%s+%s", x.c->name, x.p->name);
    } else if (i == nc * np) {
      x.stream = 1;
      x.e = EVP_CIPHER_CTX_new();
      EVP_EncryptInit_ex(x.e, EVP_chacha20(), NULL, key, NULL);
      snprintf(name, sizeof name, "openssl-evp-chacha20");
    } else {
      x.stream = 1;
      x.c = cs[i - nc * np - 1];
      snprintf(name, sizeof name, "chacha20-%s", x.c->name);
    }
    if (only && !strstr(name, only)) {
      if (x.e) EVP_CIPHER_CTX_free(x.e);
      continue;
    }
    for (int open = 0; open < 2 - x.stream; open++) {
      printf("%-22s %-5s", name, x.stream ? "xor" : open ? "open" : "seal");
      for (size_t s = 0; s < 4; s++) {
        printf(" %9.3f", gbps(&x, open, sizes[s]));
        fflush(stdout);
      }
      printf("\n");
    }
    if (x.e) EVP_CIPHER_CTX_free(x.e);
  }
  tsr_secmem_free(st);
  return 0;
}
