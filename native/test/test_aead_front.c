/*
 * Differential C tests of the AEAD front (native/aead/tsr_aead.c) on every
 * kernel tier this CPU runs (vaes512, vaes256, aesni) x every algorithm
 * (AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305, XChaCha20-Poly1305,
 * XAES-256-GCM), against the openssl tier (tsr_aead_ctx_new_kernel with
 * TSR_TIER_OPENSSL) and against OpenSSL EVP called here directly: XAES-256-GCM
 * as its c2sp.org/XAES-256-GCM KDF over AES-256-ECB + EVP AES-256-GCM,
 * XChaCha20-Poly1305 as tsr_hchacha20 + EVP ChaCha20-Poly1305.
 *
 * Per case and context: seal = reference (ct || tag), open on the next
 * context (tiers interoperate), open on its own (in place or not), and a
 * one-bit flip in ciphertext, tag, associated data or nonce -> TSR_ERR_AUTH
 * with the output zeroed; guard bytes around every output. Lengths 0..4351
 * (every tail 0..255 around the multiples of 16..4096), around 8, 16 and
 * 64 KiB, around the two-core threshold (256 KiB +- 17, parallel on and off),
 * 1 MiB and 64 MiB; associated data 0..1 KiB as aad1 || aad2 (a2 never
 * contiguous with a1, NULL pointers for empty parts); offsets 0..63 on input
 * and output. Also: every pair of tiers, re-keying, TSR_ERR_FORMAT /
 * TSR_ERR_LENGTH / TSR_ERR_ALGORITHM, c2sp XAES-256-GCM vectors (with the
 * accumulated randomized test), draft-irtf-cfrg-xchacha-03 vectors.
 *
 * TSR_TEST_CASES sets the random cases per algorithm (each runs on every
 * tier; default 10000). At 1000000 or more the XAES accumulated test runs
 * its 1,000,000-iteration variant.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "../aead/aesgcm/tsr_aesgcm_split.h"
#include "../aead/tsr_kernel.h"
#include "../aead/tsr_aead.h"
#include "../chacha20/tsr_chacha20.h"
#include "tsr_test.h"

#define NALG 5
static const tsr_aead_alg ALGS[NALG] = {TSR_AEAD_AES256GCM, TSR_AEAD_AES128GCM, TSR_AEAD_CHACHA20POLY1305,
                                        TSR_AEAD_XCHACHA20POLY1305, TSR_AEAD_XAES256GCM};
static const char *const ALG_NAMES[NALG] = {"AES-256-GCM", "AES-128-GCM", "ChaCha20-Poly1305", "XChaCha20-Poly1305",
                                            "XAES-256-GCM"};

/* kern[0..ntier) the native tiers, kern[ntier] the openssl tier. */
#define MAXCTX 4
static tsr_kernel kern[MAXCTX];
static int ntier, nctx;
static tsr_aead_ctx *ctx[MAXCTX][NALG];
static uint8_t keys[NALG][32];

#define NAME(fmt, ...)                         \
  ({                                           \
    static char n_[200];                       \
    snprintf(n_, sizeof n_, fmt, __VA_ARGS__); \
    n_;                                        \
  })

static const char *ctx_name(int c) {
  return tsr_kernel_tier_name(kern[c].tier);
}

/* ---------- OpenSSL EVP references ---------- */

static void evp_seal(const EVP_CIPHER *ci, const uint8_t *key, const uint8_t *iv, const uint8_t *aad, size_t al,
                     const uint8_t *pt, size_t len, uint8_t *out) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = c && EVP_EncryptInit_ex(c, ci, NULL, key, iv);
  if (ok && al) ok = EVP_EncryptUpdate(c, NULL, &n, aad, (int)al);
  for (size_t off = 0; ok && off < len;) { /* EVP lengths are int */
    size_t step = len - off > (1u << 30) ? (1u << 30) : len - off;
    ok = EVP_EncryptUpdate(c, out + off, &n, pt + off, (int)step);
    off += step;
  }
  if (ok) ok = EVP_EncryptFinal_ex(c, out + len, &n);
  if (ok) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + len);
  EVP_CIPHER_CTX_free(c);
  if (!ok) abort();
}

static void evp_ecb256(const uint8_t key[32], uint8_t *out, const uint8_t *in, size_t len) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, key, NULL);
  if (ok) ok = EVP_CIPHER_CTX_set_padding(c, 0);
  if (ok) ok = EVP_EncryptUpdate(c, out, &n, in, (int)len) && n == (int)len;
  EVP_CIPHER_CTX_free(c);
  if (!ok) abort();
}

/* c2sp.org/XAES-256-GCM, written from the spec: L = AES-256_K(0^128),
 * K1 = L << 1 (xor 0x87 into the last byte if MSB(L)), M_i = [i]_16 || "X" ||
 * 0x00 || N[:12], Kx = AES-256_K(M1 ^ K1) || AES-256_K(M2 ^ K1). */
static void xaes_kdf(const uint8_t key[32], const uint8_t nonce[24], uint8_t kx[32]) {
  uint8_t zero[16] = {0}, l[16], k1[16], m[32];
  evp_ecb256(key, l, zero, 16);
  for (int i = 0; i < 16; i++) k1[i] = (uint8_t)((l[i] << 1) | (i < 15 ? l[i + 1] >> 7 : 0));
  if (l[0] & 0x80) k1[15] ^= 0x87;
  for (int b = 0; b < 2; b++) {
    m[16 * b + 0] = 0x00;
    m[16 * b + 1] = (uint8_t)(b + 1);
    m[16 * b + 2] = 'X';
    m[16 * b + 3] = 0x00;
    memcpy(m + 16 * b + 4, nonce, 12);
    for (int i = 0; i < 16; i++) m[16 * b + i] ^= k1[i];
  }
  evp_ecb256(key, kx, m, 32);
}

/* out = ct || tag of alg under key / nonce, associated data aad (contiguous). */
static void direct_seal(tsr_aead_alg alg, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t al,
                        const uint8_t *pt, size_t len, uint8_t *out) {
  uint8_t sub[32], iv[12];
  switch (alg) {
    case TSR_AEAD_AES256GCM:
      evp_seal(EVP_aes_256_gcm(), key, nonce, aad, al, pt, len, out);
      break;
    case TSR_AEAD_AES128GCM:
      evp_seal(EVP_aes_128_gcm(), key, nonce, aad, al, pt, len, out);
      break;
    case TSR_AEAD_CHACHA20POLY1305:
      evp_seal(EVP_chacha20_poly1305(), key, nonce, aad, al, pt, len, out);
      break;
    case TSR_AEAD_XCHACHA20POLY1305:
      tsr_hchacha20(sub, key, nonce);
      memset(iv, 0, 4);
      memcpy(iv + 4, nonce + 16, 8);
      evp_seal(EVP_chacha20_poly1305(), sub, iv, aad, al, pt, len, out);
      break;
    case TSR_AEAD_XAES256GCM:
      xaes_kdf(key, nonce, sub);
      evp_seal(EVP_aes_256_gcm(), sub, nonce + 12, aad, al, pt, len, out);
      break;
    default:
      abort();
  }
}

/* ---------- buffers and helpers ---------- */

#define BIG ((size_t)(64u << 20) + 4096)
static uint8_t *IN, *OUT, *REF, *SCR, *PTC, *CRS;
static uint8_t AAD[1100], A2BUF[1100 + 128];

static int all_zero(const uint8_t *p, size_t n) {
  uint8_t o = 0;
  for (size_t i = 0; i < n; i++) o |= p[i];
  return o == 0;
}

/* 16 guard bytes after an output, one before it (when there is room). */
static void set_guard(uint8_t *p) {
  for (int i = 0; i < 16; i++) p[i] = (uint8_t)(0x5a ^ (i * 29));
}
static int guard_ok(const uint8_t *p) {
  for (int i = 0; i < 16; i++)
    if (p[i] != (uint8_t)(0x5a ^ (i * 29))) return 0;
  return 1;
}

/* tsr_test_rnd, eight bytes per draw (the 64 MiB inputs). */
static void fill_rnd(uint8_t *p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = tsr_test_rng64();
    memcpy(p + i, &v, 8);
  }
  tsr_test_rnd(p + i, n - i);
}

static size_t case_count(void) {
  const char *e = getenv("TSR_TEST_CASES");
  return e && *e ? (size_t)strtoull(e, NULL, 10) : 10000;
}

/* Failure masks per context x algorithm for the current group of cases. */
enum { F_SEAL = 1, F_OPEN = 2, F_CROSS = 4, F_TAMPER = 8, F_GUARD = 16, F_STATUS = 32 };
static unsigned bad[MAXCTX][NALG];
static int nprinted;

static void reset_bad(void) {
  memset(bad, 0, sizeof bad);
}

/* One CHECK per context x algorithm for the group just run. */
static void report(const char *what) {
  for (int a = 0; a < NALG; a++)
    for (int c = 0; c < nctx; c++)
      CHECK(bad[c][a] == 0, NAME("%s %s: %s (fail mask %u)", ctx_name(c), ALG_NAMES[a], what, bad[c][a]));
}

typedef struct {
  size_t len, al, l1, ioff, ooff;
  int inplace;   /* seal and open with out == in */
  int tamper;    /* 0 ciphertext, 1 tag, 2 associated data, 3 nonce */
  int parallel;  /* tsr_aead_ctx_set_parallel on the context under test */
  int nullempty; /* NULL pointers for empty aad parts */
} tcase;

#define CROSS_MAX ((size_t)4 << 20)

/* One case of algorithm a on every context (len <= 64 MiB, al <= 1024). */
static void run_case(int a, const tcase *tc) {
  const tsr_aead_alg alg = ALGS[a];
  const size_t len = tc->len, al = tc->al, l1 = tc->l1, l2 = al - l1, nl = tsr_aead_nonce_len(alg);
  uint8_t nonce[24], nonce2[24];
  tsr_test_rnd(nonce, nl);
  tsr_test_rnd(AAD, al);
  uint8_t *a2 = A2BUF + 1 + (len % 61) + (l1 % 7); /* never right after a1 */
  memcpy(a2, AAD + l1, l2);
  uint8_t *p1 = (l1 == 0 && tc->nullempty) ? NULL : AAD;
  uint8_t *p2 = (l2 == 0 && tc->nullempty) ? NULL : a2;
  fill_rnd(PTC, len);
  direct_seal(alg, keys[a], nonce, AAD, al, PTC, len, REF);

  for (int c = 0; c < nctx; c++) {
    unsigned m = 0;
    tsr_aead_ctx *x = ctx[c][a], *y = ctx[(c + 1) % nctx][a];
    tsr_aead_ctx_set_parallel(x, tc->parallel);
    uint8_t *pt = IN + tc->ioff;
    uint8_t *out = tc->inplace ? pt : OUT + tc->ooff;
    uint8_t *base = tc->inplace ? IN : OUT;
    memcpy(pt, PTC, len);
    set_guard(out + len + 16);
    if (out > base) out[-1] = 0xc3;

    /* seal */
    if (tsr_aead_seal(x, out, nonce, pt, len, p1, l1, p2, l2) != TSR_OK) m |= F_STATUS;
    if (memcmp(out, REF, len + 16) != 0) m |= F_SEAL;
    if (!guard_ok(out + len + 16) || (out > base && out[-1] != 0xc3)) m |= F_GUARD;

    /* open on the next context (another tier; the other parallel setting);
     * above 4 MiB only own opens (the bytes every tier sealed are REF's) */
    if (len <= CROSS_MAX) {
      tsr_aead_ctx_set_parallel(y, !tc->parallel);
      uint8_t *co = CRS + ((tc->ooff * 7 + 3) % 64);
      set_guard(co + len);
      if (tsr_aead_open(y, co, nonce, out, len + 16, p1, l1, p2, l2) != TSR_OK || memcmp(co, PTC, len) != 0)
        m |= F_CROSS;
      if (!guard_ok(co + len)) m |= F_GUARD;
    }

    /* open on its own context, in place or into another buffer */
    uint8_t *oo = tc->inplace ? out : CRS + ((tc->ooff * 5 + 11) % 64);
    if (!tc->inplace) set_guard(oo + len);
    if (tsr_aead_open(x, oo, nonce, out, len + 16, p1, l1, p2, l2) != TSR_OK || memcmp(oo, PTC, len) != 0) m |= F_OPEN;
    if (!guard_ok(tc->inplace ? out + len + 16 : oo + len)) m |= F_GUARD;

    /* one flipped bit -> TSR_ERR_AUTH, output zeroed */
    int kind = tc->tamper;
    if (kind == 0 && len == 0) kind = 1;
    if (kind == 2 && al == 0) kind = 3;
    uint8_t *sc = SCR + ((tc->ooff * 3 + 1) % 64);
    memcpy(sc, REF, len + 16);
    memcpy(nonce2, nonce, nl);
    const uint8_t bit = (uint8_t)(1u << tsr_test_rnd_below(8));
    size_t where = 0;
    if (kind == 0)
      sc[tsr_test_rnd_below(len)] ^= bit;
    else if (kind == 1)
      sc[len + tsr_test_rnd_below(16)] ^= bit;
    else if (kind == 2) {
      where = tsr_test_rnd_below(al);
      if (where < l1)
        AAD[where] ^= bit;
      else
        a2[where - l1] ^= bit;
    } else
      nonce2[tsr_test_rnd_below(nl)] ^= bit;
    uint8_t *to = tc->inplace ? sc : CRS + ((tc->ooff * 11 + 5) % 64);
    if (!tc->inplace) memset(to, 0xa5, len);
    set_guard(to + len + (tc->inplace ? 16 : 0));
    if (tsr_aead_open(x, to, nonce2, sc, len + 16, p1, l1, p2, l2) != TSR_ERR_AUTH || !all_zero(to, len)) m |= F_TAMPER;
    if (!guard_ok(to + len + (tc->inplace ? 16 : 0))) m |= F_GUARD;
    if (kind == 2) {
      if (where < l1)
        AAD[where] ^= bit;
      else
        a2[where - l1] ^= bit;
    }

    if (m) {
      bad[c][a] |= m;
      if (nprinted++ < 20)
        printf(
            "# FAIL %s %s len %zu aad %zu (a1 %zu) ioff %zu ooff %zu inplace %d tamper %d parallel %d null %d "
            "mask %u\n",
            ctx_name(c), ALG_NAMES[a], len, al, l1, tc->ioff, tc->ooff, tc->inplace, kind, tc->parallel, tc->nullempty,
            m);
    }
  }
}

static void new_key(int a) {
  tsr_test_rnd(keys[a], tsr_aead_key_len(ALGS[a]));
  for (int c = 0; c < nctx; c++)
    if (tsr_aead_ctx_rekey(ctx[c][a], keys[a]) != TSR_OK) bad[c][a] |= F_STATUS;
}

/* ---------- groups ---------- */

static void test_lengths(void) {
  reset_bad();
  for (int a = 0; a < NALG; a++) {
    new_key(a);
    for (size_t len = 0; len <= 4096 + 255; len++) {
      tcase tc = {.len = len,
                  .al = (len * 7) % 1025,
                  .ioff = len % 64,
                  .ooff = (len / 64 + 1) % 64,
                  .inplace = len % 5 == 0,
                  .tamper = (int)(len % 4),
                  .parallel = 1,
                  .nullempty = len & 1};
      tc.l1 = tc.al ? (len * 13) % (tc.al + 1) : 0;
      if (len % 97 == 0) new_key(a);
      run_case(a, &tc);
    }
  }
  report("every length 0..4351, aad 0..1024 split a1 || a2, offsets, in place, tamper = EVP");
}

static void test_larger(void) {
  static const size_t bases[] = {8192, 16384, 65536};
  reset_bad();
  for (int a = 0; a < NALG; a++) {
    new_key(a);
    for (int b = 0; b < 3; b++)
      for (size_t len = bases[b] - 17; len <= bases[b] + 17; len++) {
        tcase tc = {.len = len,
                    .al = len % 300,
                    .ioff = len % 63 + 1,
                    .ooff = (len * 3) % 63 + 1,
                    .inplace = len % 3 == 0,
                    .tamper = (int)(len % 4),
                    .parallel = 1,
                    .nullempty = 0};
        tc.l1 = tc.al ? len % (tc.al + 1) : 0;
        run_case(a, &tc);
      }
  }
  report("lengths 8/16/64 KiB +- 17 = EVP");
}

/* Around TSR_AESGCM_SPLIT_MIN (= the openssl tier's TSR_GCM_SPLIT_MIN), on
 * two cores and on one. */
static void test_threshold(void) {
  reset_bad();
  for (int a = 0; a < NALG; a++) {
    new_key(a);
    for (int par = 0; par <= 1; par++)
      for (size_t len = TSR_AESGCM_SPLIT_MIN - 17; len <= TSR_AESGCM_SPLIT_MIN + 17; len++) {
        tcase tc = {.len = len,
                    .al = (len * 31) % 1025,
                    .ioff = len % 63 + 1,
                    .ooff = (len * 5) % 63 + 1,
                    .inplace = len % 4 == 0,
                    .tamper = (int)(len % 4),
                    .parallel = par,
                    .nullempty = (int)(len & 1)};
        tc.l1 = tc.al ? (len * 3) % (tc.al + 1) : 0;
        run_case(a, &tc);
      }
  }
  report("256 KiB +- 17 (two-core threshold), parallel on and off = EVP");
}

static void test_big(void) {
  static const size_t sizes[] = {(1u << 20) - 1, 1u << 20, (1u << 20) + 13, 64u << 20};
  reset_bad();
  for (int a = 0; a < NALG; a++) {
    new_key(a);
    for (int s = 0; s < 4; s++)
      for (int par = 0; par <= 1; par++) {
        if (s == 3 && par == 0 && ALGS[a] != TSR_AEAD_AES256GCM) continue; /* 64 MiB serial: AES-256-GCM only */
        tcase tc = {.len = sizes[s],
                    .al = 33 + s,
                    .l1 = 5 + s,
                    .ioff = 1 + s + par,
                    .ooff = 63 - s,
                    .inplace = (s + par) & 1,
                    .tamper = s,
                    .parallel = par};
        run_case(a, &tc);
      }
  }
  report("1 MiB - 1, 1 MiB, 1 MiB + 13, 64 MiB, parallel on and off = EVP");
}

static void test_random(void) {
  const size_t n = case_count();
  reset_bad();
  for (int a = 0; a < NALG; a++) {
    new_key(a);
    for (size_t i = 0; i < n; i++) {
      size_t r = tsr_test_rnd_below(1000), len;
      if (r < 450)
        len = tsr_test_rnd_below(600);
      else if (r < 850)
        len = tsr_test_rnd_below(4400);
      else if (r < 970)
        len = tsr_test_rnd_below(20000);
      else if (r < 997)
        len = tsr_test_rnd_below(70000);
      else
        len = TSR_AESGCM_SPLIT_MIN - 4096 + tsr_test_rnd_below(70000);
      tcase tc;
      tc.len = len;
      tc.al = tsr_test_rnd_below(100) < 30 ? 0 : tsr_test_rnd_below(1025);
      tc.l1 = tsr_test_rnd_below(tc.al + 1);
      tc.ioff = tsr_test_rnd_below(64);
      tc.ooff = tsr_test_rnd_below(64);
      tc.inplace = tsr_test_rnd_below(4) == 0;
      tc.tamper = (int)tsr_test_rnd_below(4);
      tc.parallel = (int)tsr_test_rnd_below(2);
      tc.nullempty = (int)tsr_test_rnd_below(2);
      if (tsr_test_rnd_below(8) == 0) new_key(a);
      run_case(a, &tc);
    }
  }
  report(
      NAME("%zu random cases (lengths mostly < 4400, 0.3%% around 256 KiB; aad, splits, offsets, in place, "
           "parallel, tamper) = EVP",
           n));
}

/* Seal on every context, open on every context (both parallel settings). */
static void test_pairs(void) {
  static const size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 255, 1000, 4097, TSR_AESGCM_SPLIT_MIN + 33};
  for (int a = 0; a < NALG; a++) {
    int ok = 1;
    new_key(a);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
      const size_t len = lens[li];
      uint8_t nonce[24], aad[40];
      tsr_test_rnd(nonce, sizeof nonce);
      tsr_test_rnd(aad, sizeof aad);
      tsr_test_rnd(PTC, len);
      for (int s = 0; s < nctx; s++) {
        tsr_aead_ctx_set_parallel(ctx[s][a], (int)(li & 1));
        ok &= tsr_aead_seal(ctx[s][a], OUT + 1, nonce, PTC, len, aad, 7, aad + 7, 33) == TSR_OK;
        for (int o = 0; o < nctx; o++) {
          tsr_aead_ctx_set_parallel(ctx[o][a], (int)((li + o) & 1));
          memset(CRS + 2, 0xa5, len);
          ok &= tsr_aead_open(ctx[o][a], CRS + 2, nonce, OUT + 1, len + 16, aad, 20, aad + 20, 20) == TSR_OK &&
                memcmp(CRS + 2, PTC, len) == 0;
        }
      }
    }
    CHECK(ok, NAME("%s: sealed on each of the %d tiers, opened on each (aad split differently)", ALG_NAMES[a], nctx));
  }
}

/* Re-keying switches keys (and back), aliasing the context's own key is a
 * no-op, a message under the old key no longer opens. */
static void test_rekey(void) {
  for (int a = 0; a < NALG; a++) {
    const tsr_aead_alg alg = ALGS[a];
    const size_t kl = tsr_aead_key_len(alg);
    for (int c = 0; c < nctx; c++) {
      int ok = 1;
      for (int trial = 0; trial < 20; trial++) {
        uint8_t ka[32], kb[32], nonce[24], pt[300], ra[316], rb[316], got[316], back[300];
        size_t len = tsr_test_rnd_below(sizeof pt);
        tsr_test_rnd(ka, kl);
        tsr_test_rnd(kb, kl);
        tsr_test_rnd(nonce, sizeof nonce);
        tsr_test_rnd(pt, len);
        direct_seal(alg, ka, nonce, NULL, 0, pt, len, ra);
        direct_seal(alg, kb, nonce, NULL, 0, pt, len, rb);
        tsr_aead_ctx *x = ctx[c][a];
        ok &= tsr_aead_ctx_rekey(x, ka) == TSR_OK && memcmp(tsr_aead_ctx_key(x), ka, kl) == 0;
        ok &= tsr_aead_seal(x, got, nonce, pt, len, NULL, 0, NULL, 0) == TSR_OK && memcmp(got, ra, len + 16) == 0;
        ok &= tsr_aead_ctx_rekey(x, kb) == TSR_OK && memcmp(tsr_aead_ctx_key(x), kb, kl) == 0;
        ok &= tsr_aead_seal(x, got, nonce, pt, len, NULL, 0, NULL, 0) == TSR_OK && memcmp(got, rb, len + 16) == 0;
        ok &= tsr_aead_open(x, back, nonce, ra, len + 16, NULL, 0, NULL, 0) == TSR_ERR_AUTH && all_zero(back, len);
        ok &= tsr_aead_ctx_rekey(x, tsr_aead_ctx_key(x)) == TSR_OK; /* aliasing its own key */
        ok &= tsr_aead_open(x, back, nonce, rb, len + 16, NULL, 0, NULL, 0) == TSR_OK && memcmp(back, pt, len) == 0;
        ok &= tsr_aead_ctx_rekey(x, ka) == TSR_OK;
        ok &= tsr_aead_open(x, back, nonce, ra, len + 16, NULL, 0, NULL, 0) == TSR_OK && memcmp(back, pt, len) == 0;
        /* a fresh context of the same tier agrees */
        tsr_status st;
        tsr_aead_ctx *f = tsr_aead_ctx_new_kernel(alg, kb, &kern[c], &st);
        ok &= f != NULL && st == TSR_OK && tsr_aead_ctx_alg(f) == alg && tsr_aead_ctx_kernel(f)->tier == kern[c].tier;
        if (f) {
          ok &= tsr_aead_seal(f, got, nonce, pt, len, NULL, 0, NULL, 0) == TSR_OK && memcmp(got, rb, len + 16) == 0;
          tsr_aead_ctx_free(f);
        }
      }
      new_key(a); /* leave the shared contexts on one key again */
      CHECK(ok, NAME("%s %s: rekey switches keys and back, self-aliasing rekey, old-key message -> AUTH", ctx_name(c),
                     ALG_NAMES[a]));
    }
  }
}

static void test_errors(void) {
  static uint8_t buf[64], g[64];
  uint8_t nonce[24] = {0};
  for (int a = 0; a < NALG; a++) {
    const int gcm = ALGS[a] == TSR_AEAD_AES256GCM || ALGS[a] == TSR_AEAD_AES128GCM || ALGS[a] == TSR_AEAD_XAES256GCM;
    const uint64_t max = gcm ? ((uint64_t)1 << 36) - 32 : ((uint64_t)1 << 38) - 64;
    for (int c = 0; c < nctx; c++) {
      int fmt = 1, lng = 1;
      tsr_aead_ctx *x = ctx[c][a];
      for (size_t n = 0; n < 16; n++) {
        memset(g, 0x77, sizeof g);
        memset(buf, 0x11, sizeof buf);
        fmt &= tsr_aead_open(x, g + 8, nonce, buf, n, NULL, 0, NULL, 0) == TSR_ERR_FORMAT;
        for (size_t i = 0; i < sizeof g; i++) fmt &= g[i] == 0x77;
      }
      /* Lengths are checked before any byte is touched: buffers smaller
       * than the claimed length are never read. */
      memset(g, 0x77, sizeof g);
      lng &= tsr_aead_seal(x, g, nonce, buf, (size_t)(max + 1), NULL, 0, NULL, 0) == TSR_ERR_LENGTH;
      lng &= tsr_aead_open(x, g, nonce, buf, (size_t)(max + 1 + 16), NULL, 0, NULL, 0) == TSR_ERR_LENGTH;
      lng &= tsr_aead_seal(x, g, nonce, buf, SIZE_MAX - 15, NULL, 0, NULL, 0) == TSR_ERR_LENGTH;
      lng &= tsr_aead_open(x, g, nonce, buf, SIZE_MAX, NULL, 0, NULL, 0) == TSR_ERR_LENGTH;
      for (size_t i = 0; i < sizeof g; i++) lng &= g[i] == 0x77;
      CHECK(fmt, NAME("%s %s: sealed 0..15 bytes -> TSR_ERR_FORMAT, output untouched", ctx_name(c), ALG_NAMES[a]));
      CHECK(lng, NAME("%s %s: plaintext over %s max -> TSR_ERR_LENGTH before touching memory", ctx_name(c),
                      ALG_NAMES[a], gcm ? "2^36 - 32" : "2^38 - 64"));
    }
  }
  int ok = 1;
  uint8_t key[32] = {0};
  const int badalgs[] = {0x00, 0x05, 0x80, 0x82, 0xff};
  for (int c = 0; c < nctx; c++)
    for (int i = 0; i < 5; i++) {
      tsr_status st = TSR_OK;
      tsr_aead_ctx *x = tsr_aead_ctx_new_kernel((tsr_aead_alg)badalgs[i], key, &kern[c], &st);
      ok &= x == NULL && st == TSR_ERR_ALGORITHM;
      tsr_aead_ctx_free(x);
    }
  CHECK(ok, "unknown algorithm ids (0x00, 0x05, 0x80, 0x82, 0xff) -> TSR_ERR_ALGORITHM on every tier");
}

static const char SUNSCREEN[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be "
    "it.";

/* draft-irtf-cfrg-xchacha-03 section 2.2.1 (HChaCha20) and A.3.1; c2sp
 * XAES-256-GCM vectors 1 and 2. */
static void test_vectors(void) {
  uint8_t key[32], nonce[24], aad[12], want[130], out[130], back[114], sub[32];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
  tsr_test_unhex(nonce, "000000090000004a0000000031415927");
  tsr_test_unhex(want, "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
  tsr_hchacha20(sub, key, nonce);
  CHECK(memcmp(sub, want, 32) == 0, "tsr_hchacha20 = draft-irtf-cfrg-xchacha-03 section 2.2.1");

  for (int i = 0; i < 32; i++) key[i] = (uint8_t)(0x80 + i);
  tsr_test_unhex(nonce, "404142434445464748494a4b4c4d4e4f5051525354555657");
  tsr_test_unhex(aad, "50515253c0c1c2c3c4c5c6c7");
  tsr_test_unhex(want,
                 "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39"
                 "ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
                 "21f9664c97637da9768812f615c68b13b52e"
                 "c0875924c1c7987947deafd8780acf49");
  for (int c = 0; c < nctx; c++) {
    tsr_status st;
    tsr_aead_ctx *x = tsr_aead_ctx_new_kernel(TSR_AEAD_XCHACHA20POLY1305, key, &kern[c], &st);
    int ok = x && tsr_aead_seal(x, out, nonce, (const uint8_t *)SUNSCREEN, 114, aad, 3, aad + 3, 9) == TSR_OK &&
             memcmp(out, want, 130) == 0;
    ok =
        ok && tsr_aead_open(x, back, nonce, want, 130, aad, 12, NULL, 0) == TSR_OK && memcmp(back, SUNSCREEN, 114) == 0;
    tsr_aead_ctx_free(x);
    CHECK(ok, NAME("%s XChaCha20-Poly1305: draft-irtf-cfrg-xchacha-03 A.3.1 seal and open", ctx_name(c)));
  }
  direct_seal(TSR_AEAD_XCHACHA20POLY1305, key, nonce, aad, 12, (const uint8_t *)SUNSCREEN, 114, out);
  CHECK(memcmp(out, want, 130) == 0, "reference (tsr_hchacha20 + EVP ChaCha20-Poly1305) = A.3.1");

  const uint8_t *xn = (const uint8_t *)"ABCDEFGHIJKLMNOPQRSTUVWX";
  const char *xaad = "c2sp.org/XAES-256-GCM";
  uint8_t w1[28], w2[28];
  tsr_test_unhex(w1, "ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271");
  tsr_test_unhex(w2, "986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d");
  for (int c = 0; c < nctx; c++) {
    tsr_status st;
    memset(key, 1, 32);
    tsr_aead_ctx *x = tsr_aead_ctx_new_kernel(TSR_AEAD_XAES256GCM, key, &kern[c], &st);
    int ok = x && tsr_aead_seal(x, out, xn, (const uint8_t *)"XAES-256-GCM", 12, NULL, 0, NULL, 0) == TSR_OK &&
             memcmp(out, w1, 28) == 0;
    memset(key, 3, 32);
    ok = ok && tsr_aead_ctx_rekey(x, key) == TSR_OK &&
         tsr_aead_seal(x, out, xn, (const uint8_t *)"XAES-256-GCM", 12, (const uint8_t *)xaad, 8,
                       (const uint8_t *)xaad + 8, strlen(xaad) - 8) == TSR_OK &&
         memcmp(out, w2, 28) == 0;
    tsr_aead_ctx_free(x);
    CHECK(ok, NAME("%s XAES-256-GCM: c2sp vectors 1 (MSB(L) = 0) and 2 (MSB(L) = 1)", ctx_name(c)));
  }
  memset(key, 3, 32);
  direct_seal(TSR_AEAD_XAES256GCM, key, xn, (const uint8_t *)xaad, strlen(xaad), (const uint8_t *)"XAES-256-GCM", 12,
              out);
  CHECK(memcmp(out, w2, 28) == 0, "reference (AES-256-ECB KDF + EVP AES-256-GCM) = c2sp vector 2");
}

/* c2sp.org/XAES-256-GCM "accumulated randomized tests": key, nonce, plaintext
 * and aad read from one SHAKE-128 stream, ciphertexts absorbed into another;
 * one context per tier, re-keyed every iteration. */
static void test_xaes_accumulated(size_t iterations, const char *want_hex) {
  const size_t need = iterations * (32 + 24 + 1 + 255 + 1 + 255);
  uint8_t *stream = malloc(need), want[32];
  EVP_MD_CTX *s = EVP_MD_CTX_new();
  if (!stream || !s || !EVP_DigestInit_ex(s, EVP_shake128(), NULL) || !EVP_DigestFinalXOF(s, stream, need)) abort();
  EVP_MD_CTX_free(s);
  tsr_test_unhex(want, want_hex);
  for (int c = 0; c < nctx; c++) {
    uint8_t zero[32] = {0}, ct[255 + 16], pt[255], got[32];
    tsr_status st;
    tsr_aead_ctx *x = tsr_aead_ctx_new_kernel(TSR_AEAD_XAES256GCM, zero, &kern[c], &st);
    EVP_MD_CTX *d = EVP_MD_CTX_new();
    int ok = x && d && EVP_DigestInit_ex(d, EVP_shake128(), NULL);
    const uint8_t *p = stream;
    for (size_t i = 0; ok && i < iterations; i++) {
      const uint8_t *key = p, *nonce = p + 32;
      size_t ptlen = p[56];
      const uint8_t *msg = p + 57;
      size_t al = p[57 + ptlen];
      const uint8_t *aad = p + 58 + ptlen;
      p += 58 + ptlen + al;
      ok = tsr_aead_ctx_rekey(x, key) == TSR_OK &&
           tsr_aead_seal(x, ct, nonce, msg, ptlen, aad, al / 3, aad + al / 3, al - al / 3) == TSR_OK &&
           EVP_DigestUpdate(d, ct, ptlen + 16) &&
           tsr_aead_open(x, pt, nonce, ct, ptlen + 16, aad, al, NULL, 0) == TSR_OK && memcmp(pt, msg, ptlen) == 0;
    }
    ok = ok && EVP_DigestFinalXOF(d, got, 32) && memcmp(got, want, 32) == 0;
    EVP_MD_CTX_free(d);
    tsr_aead_ctx_free(x);
    CHECK(ok, NAME("%s XAES-256-GCM: c2sp accumulated randomized test, %zu iterations", ctx_name(c), iterations));
  }
  free(stream);
}

/* tsr_aead_ctx_new (the process default: TESSERA_NATIVE_KERNEL or the best
 * tier) interoperates with the explicit tiers. */
static void test_default(void) {
  tsr_kernel k;
  const char *why = NULL;
  if (tsr_kernel_default(&k, &why) != 0) {
    printf("# default kernel unusable here (%s): skipped\n", why);
    return;
  }
  int ok = 1;
  for (int a = 0; a < NALG; a++) {
    uint8_t nonce[24], out[100 + 16], back[100];
    tsr_test_rnd(nonce, sizeof nonce);
    tsr_test_rnd(PTC, 100);
    tsr_status st;
    tsr_aead_ctx *x = tsr_aead_ctx_new(ALGS[a], keys[a], &st);
    ok &= x != NULL && tsr_aead_ctx_kernel(x)->tier == k.tier;
    if (!x) continue;
    ok &= tsr_aead_seal(x, out, nonce, PTC, 100, NULL, 0, NULL, 0) == TSR_OK;
    for (int c = 0; c < nctx; c++)
      ok &= tsr_aead_open(ctx[c][a], back, nonce, out, sizeof out, NULL, 0, NULL, 0) == TSR_OK &&
            memcmp(back, PTC, 100) == 0;
    tsr_aead_ctx_free(x);
  }
  CHECK(ok, NAME("tsr_aead_ctx_new (default tier %s) interoperates with every tier", tsr_kernel_tier_name(k.tier)));
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs one group and says how long it took (the default run is meant to stay
 * well under a minute under ASan on two cores). */
#define TIMED(call)                                  \
  do {                                               \
    double t0_ = now();                              \
    call;                                            \
    printf("# %.60s: %.1f s\n", #call, now() - t0_); \
  } while (0)

int main(void) {
  tsr_test_seed(0xf407a3adULL);
  static const tsr_tier want[] = {TSR_TIER_VAES512, TSR_TIER_VAES256, TSR_TIER_AESNI};
  printf("# tiers:");
  for (int i = 0; i < 3; i++) {
    const char *missing = NULL;
    if (tsr_kernel_resolve(want[i], &kern[ntier], &missing) == 0) {
      printf(" %s (aes-gcm %s, chacha %s)", tsr_kernel_tier_name(want[i]), tsr_kernel_name(&kern[ntier], 0),
             tsr_kernel_name(&kern[ntier], 1));
      ntier++;
    } else {
      printf(" [%s skipped: no %s]", tsr_kernel_tier_name(want[i]), missing);
    }
  }
  const char *missing = NULL;
  if (tsr_kernel_resolve(TSR_TIER_OPENSSL, &kern[ntier], &missing) != 0) {
    printf("\nBail out! the openssl tier does not resolve\n");
    return 1;
  }
  nctx = ntier + 1;
  printf(" + openssl; %zu random cases per algorithm\n", case_count());

  IN = aligned_alloc(64, BIG);
  OUT = aligned_alloc(64, BIG);
  REF = aligned_alloc(64, BIG);
  SCR = aligned_alloc(64, BIG);
  PTC = aligned_alloc(64, BIG);
  CRS = aligned_alloc(64, BIG);
  if (!IN || !OUT || !REF || !SCR || !PTC || !CRS) return 2;
  for (int a = 0; a < NALG; a++) {
    tsr_test_rnd(keys[a], 32);
    for (int c = 0; c < nctx; c++) {
      tsr_status st;
      ctx[c][a] = tsr_aead_ctx_new_kernel(ALGS[a], keys[a], &kern[c], &st);
      if (!ctx[c][a]) {
        printf("Bail out! tsr_aead_ctx_new_kernel(%s, %s): %d\n", ALG_NAMES[a], ctx_name(c), st);
        return 1;
      }
    }
  }

  TIMED(test_vectors());
  TIMED(test_xaes_accumulated(10000, "e6b9edf2df6cec60c8cbd864e2211b597fb69a529160cd040d56c0c210081939"));
  if (case_count() >= 1000000)
    TIMED(test_xaes_accumulated(1000000, "2163ae1445985a30b60585ee67daa55674df06901b890593e824b8a7c885ab15"));
  TIMED(test_errors());
  TIMED(test_rekey());
  TIMED(test_default());
  TIMED(test_pairs());
  TIMED(test_lengths());
  TIMED(test_larger());
  TIMED(test_threshold());
  TIMED(test_big());
  TIMED(test_random());

  for (int a = 0; a < NALG; a++)
    for (int c = 0; c < nctx; c++) tsr_aead_ctx_free(ctx[c][a]);
  free(IN);
  free(OUT);
  free(REF);
  free(SCR);
  free(PTC);
  free(CRS);
  return tsr_test_done();
}
