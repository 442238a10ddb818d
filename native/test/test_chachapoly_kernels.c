/*
 * C tests of the x86-64 ChaCha20-Poly1305 kernels (native/aead/chachapoly):
 * every ChaCha20 tier x every Poly1305 tier this CPU supports, against
 * OpenSSL's EVP chacha20-poly1305 / EVP_MAC POLY1305 and the portable core
 * (native/aead/chachapoly/soft/tsr_chachapoly.c, tsr_poly1305.c): RFC 8439 section 2.8.2,
 * every length 0..4351 and the tails around larger multiples of 64..1024
 * and of the 16 KiB piece size, random AAD splits, unaligned and in-place
 * buffers, tampering (-1 and out zeroed), 1 MiB and 64 MiB messages,
 * Poly1305 alone with incremental updates, ChaCha20 alone with counters 0,
 * 1 and up to 2^32 - 1. TSR_TEST_CASES sets the random AEAD cases per tier
 * combination (default 10000).
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#include "../aead/chachapoly/tsr_chachapoly_kern.h"
#include "../aead/tsr_cpu.h"
#include "../aead/chachapoly/soft/tsr_chachapoly.h"
#include "../chacha20/tsr_chacha20.h"
#include "../aead/chachapoly/soft/tsr_poly1305.h"
#include "../util/tsr_util.h"
#include "../secmem/tsr_secmem.h"
#include "tsr_test.h"

static const tsr_chacha20_impl *chachas[2];
static const tsr_poly1305_impl *polys[3];
static int nchacha, npoly;
static tsr_poly1305_kstate *ps;

static void ossl_seal(uint8_t *out, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *pt, size_t ptlen,
                      const uint8_t *aad, size_t aadlen) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce);
  if (ok && aadlen) ok = EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen);
  for (size_t done = 0; ok && done < ptlen;) { /* EVP lengths are int */
    size_t step = ptlen - done > (1u << 30) ? (1u << 30) : ptlen - done;
    ok = EVP_EncryptUpdate(c, out + done, &n, pt + done, (int)step);
    done += step;
  }
  if (ok) ok = EVP_EncryptFinal_ex(c, out + ptlen, &n);
  if (ok) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + ptlen);
  EVP_CIPHER_CTX_free(c);
  if (!ok) abort();
}

static void ossl_poly1305(uint8_t tag[16], const uint8_t key[32], const uint8_t *msg, size_t len) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
  EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
  size_t n = 0;
  int ok = c && EVP_MAC_init(c, key, 32, NULL) && EVP_MAC_update(c, msg, len) && EVP_MAC_final(c, tag, &n, 16);
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(mac);
  if (!ok || n != 16) abort();
}

static void soft_poly1305(uint8_t tag[16], const uint8_t key[32], const uint8_t *msg, size_t len) {
  tsr_poly1305_state s;
  tsr_poly1305_init(&s, key);
  tsr_poly1305_update(&s, msg, len);
  tsr_poly1305_final(&s, tag);
}

static int all_zero(const uint8_t *p, size_t n) {
  uint8_t d = 0;
  for (size_t i = 0; i < n; i++) d |= p[i];
  return d == 0;
}

/* --- RFC 8439 section 2.8.2 --- */
static const char SUNSCREEN[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be "
    "it.";

static void test_kat(void) {
  uint8_t key[32], nonce[12], aad[12], want[130], out[130], back[114];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)(0x80 + i);
  tsr_test_unhex(nonce, "070000004041424344454647");
  tsr_test_unhex(aad, "50515253c0c1c2c3c4c5c6c7");
  tsr_test_unhex(want,
                 "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
                 "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                 "3ff4def08e4b7a9de576d26586cec64b6116"
                 "1ae10b594f09e26a7e902ecbd0600691");
  for (int ci = 0; ci < nchacha; ci++)
    for (int pi = 0; pi < npoly; pi++) {
      char name[96];
      tsr_chachapoly_kern_seal(chachas[ci], polys[pi], ps, key, out, nonce, (const uint8_t *)SUNSCREEN, 114, aad, 5,
                               aad + 5, 7);
      int ok = memcmp(out, want, 130) == 0;
      ok &= tsr_chachapoly_kern_open(chachas[ci], polys[pi], ps, key, back, nonce, want, 114, want + 114, aad, 12, NULL,
                                     0) == 0 &&
            memcmp(back, SUNSCREEN, 114) == 0;
      snprintf(name, sizeof name, "%s+%s: RFC 8439 section 2.8.2 seal and open", chachas[ci]->name, polys[pi]->name);
      CHECK(ok, name);
    }
}

/* --- ChaCha20 alone vs tsr_chacha20_xor --- */
static void test_chacha(void) {
  enum { MAX = 20000 };
  static uint8_t in[MAX + 64], a[MAX + 64], b[MAX + 64];
  uint8_t key[32], nonce[12];
  for (int ci = 0; ci < nchacha; ci++) {
    int ok = 1;
    for (size_t len = 0; len <= MAX; len += (len < 4400 ? 1 : 61)) {
      tsr_test_rnd(key, 32);
      tsr_test_rnd(nonce, 12);
      size_t nblk = (len + 63) / 64;
      uint32_t ctrs[4] = {0, 1, (uint32_t)(0xffffffffu - (nblk ? nblk - 1 : 0)), (uint32_t)tsr_test_rng64()};
      if (ctrs[3] > 0xffffffffu - nblk) ctrs[3] = 7;
      for (int k = 0; k < 4; k++) {
        size_t oi = tsr_test_rnd_below(64), oo = tsr_test_rnd_below(64);
        tsr_test_rnd(in + oi, len);
        chachas[ci]->xor_stream(a + oo, in + oi, len, key, nonce, ctrs[k]);
        tsr_chacha20_xor(b, in + oi, len, key, nonce, ctrs[k]);
        ok &= memcmp(a + oo, b, len) == 0;
        memcpy(a + oi, in + oi, len); /* in place */
        chachas[ci]->xor_stream(a + oi, a + oi, len, key, nonce, ctrs[k]);
        ok &= memcmp(a + oi, b, len) == 0;
      }
    }
    char name[96];
    snprintf(name, sizeof name, "chacha20 %s equals the core for lengths 0..20000, counters 0, 1, to 2^32-1",
             chachas[ci]->name);
    CHECK(ok, name);
  }
}

/* --- Poly1305 alone --- */
static void poly_pieces(const tsr_poly1305_impl *p, uint8_t tag[16], const uint8_t key[32], const uint8_t *msg,
                        size_t len, int mode) {
  p->init(ps, key);
  size_t off = 0;
  while (off < len) {
    size_t step = mode == 0 ? len : mode == 1 ? 1 + tsr_test_rnd_below(40) : 1 + tsr_test_rnd_below(3000);
    if (step > len - off) step = len - off;
    p->update(ps, msg + off, step);
    off += step;
  }
  p->final(ps, tag);
}

static void test_poly(void) {
  enum { MAX = 70000 };
  static uint8_t msg[MAX];
  uint8_t key[32], t1[16], t2[16];
  for (int pi = 0; pi < npoly; pi++) {
    int ok = 1, ossl = 1, edge = 1;
    for (int iter = 0; iter < 6000; iter++) {
      size_t len = iter < 4200 ? (size_t)iter : tsr_test_rnd_below(iter % 10 ? 5000 : MAX);
      tsr_test_rnd(key, 32);
      tsr_test_rnd(msg, len);
      poly_pieces(polys[pi], t1, key, msg, len, iter % 3);
      soft_poly1305(t2, key, msg, len);
      ok &= memcmp(t1, t2, 16) == 0;
      if (iter % 7 == 0) {
        ossl_poly1305(t2, key, msg, len);
        ossl &= memcmp(t1, t2, 16) == 0;
      }
    }
    /* Saturated keys and messages: limbs at their bounds, final h >= p selection. */
    for (size_t len = 0; len <= 2100; len += (len < 600 ? 1 : 17)) {
      for (int v = 0; v < 4; v++) {
        memset(key, 0xff, 32);
        memset(msg, 0xff, len);
        if (v == 1) memset(key + 16, 0, 16);
        if (v == 2)
          for (size_t i = 0; i < len; i += 16) msg[i] = 0xfa;
        if (v == 3) {
          tsr_test_rnd(key, 16);
          for (size_t i = 0; i < len; i++) msg[i] = (tsr_test_rng64() & 1) ? 0xff : 0x00;
        }
        poly_pieces(polys[pi], t1, key, msg, len, (int)(len % 3));
        ossl_poly1305(t2, key, msg, len);
        edge &= memcmp(t1, t2, 16) == 0;
      }
    }
    char name[96];
    snprintf(name, sizeof name, "poly1305 %s equals the core (one shot and in odd pieces)", polys[pi]->name);
    CHECK(ok, name);
    snprintf(name, sizeof name, "poly1305 %s equals EVP_MAC POLY1305", polys[pi]->name);
    CHECK(ossl, name);
    snprintf(name, sizeof name, "poly1305 %s equals EVP_MAC for all-0xff keys and blocks", polys[pi]->name);
    CHECK(edge, name);
  }
}

/* --- AEAD cases --- */
enum { BIG = 40000 };
static uint8_t pt[BIG + 64], aad[1100 + 64], ref[BIG + 16], sealed[BIG + 128], opened[BIG + 128];

/* One message through one tier combination: seal equals OpenSSL and the
 * core, open (out of place or in place) gives pt back, and one tampering
 * (tamper: 0 none, 1 ct, 2 tag, 3 aad) gives -1 and out zeroed. */
static int aead_case(const tsr_chacha20_impl *c, const tsr_poly1305_impl *p, size_t len, size_t aadlen, size_t split,
                     int inplace, int tamper) {
  uint8_t key[32], nonce[12];
  tsr_test_rnd(key, 32);
  tsr_test_rnd(nonce, 12);
  size_t op = tsr_test_rnd_below(64), oa = tsr_test_rnd_below(64), os = tsr_test_rnd_below(64);
  size_t oo = tsr_test_rnd_below(64);
  tsr_test_rnd(pt + op, len);
  tsr_test_rnd(aad + oa, aadlen);
  const uint8_t *a = aad + oa;
  ossl_seal(ref, key, nonce, pt + op, len, a, aadlen);
  int ok = 1;
  if (inplace) {
    memcpy(sealed + op, pt + op, len);
    tsr_chachapoly_kern_seal(c, p, ps, key, sealed + op, nonce, sealed + op, len, a, split, a + split, aadlen - split);
    os = op;
  } else {
    tsr_chachapoly_kern_seal(c, p, ps, key, sealed + os, nonce, pt + op, len, a, split, a + split, aadlen - split);
  }
  ok &= memcmp(sealed + os, ref, len + 16) == 0;
  if ((tsr_test_rng64() & 7) == 0) { /* the core too, now and then */
    tsr_chachapoly_seal(key, opened, nonce, pt + op, len, a, split, a + split, aadlen - split);
    ok &= memcmp(opened, ref, len + 16) == 0;
  }
  uint8_t *o = inplace ? sealed + os : opened + oo;
  if (!inplace) memset(o, 0xa5, len);
  ok &= tsr_chachapoly_kern_open(c, p, ps, key, o, nonce, sealed + os, len, sealed + os + len, a, split, a + split,
                                 aadlen - split) == 0;
  ok &= memcmp(o, pt + op, len) == 0;
  if (tamper == 1 && len == 0) tamper = 2;
  if (tamper == 3 && aadlen == 0) tamper = 2;
  if (tamper) {
    memcpy(sealed + os, ref, len + 16);
    uint8_t *t = tamper == 1   ? sealed + os + tsr_test_rnd_below(len)
                 : tamper == 2 ? sealed + os + len + tsr_test_rnd_below(16)
                               : aad + oa + tsr_test_rnd_below(aadlen);
    uint8_t bit = (uint8_t)(1u << tsr_test_rnd_below(8));
    *t ^= bit;
    o = inplace ? sealed + os : opened + oo;
    if (!inplace) memset(o, 0xa5, len);
    ok &= tsr_chachapoly_kern_open(c, p, ps, key, o, nonce, sealed + os, len, sealed + os + len, a, split, a + split,
                                   aadlen - split) == -1;
    ok &= all_zero(o, len);
    *t ^= bit;
  }
  return ok;
}

static size_t env_cases(void) {
  const char *e = getenv("TSR_TEST_CASES");
  return e ? (size_t)strtoull(e, NULL, 10) : 10000;
}

static void test_aead(void) {
  static const size_t bases[] = {4096, 4608, 5120, 8192, 16384, 32768};
  const size_t ncases = env_cases();
  for (int ci = 0; ci < nchacha; ci++)
    for (int pi = 0; pi < npoly; pi++) {
      const tsr_chacha20_impl *c = chachas[ci];
      const tsr_poly1305_impl *p = polys[pi];
      char name[128];
      int ok = 1;
      for (size_t len = 0; len <= 4351; len++) {
        size_t al = tsr_test_rnd_below(len % 5 ? 40 : 1025);
        ok &= aead_case(c, p, len, al, tsr_test_rnd_below(al + 1), (int)(len % 3 == 0), (int)(len % 4));
      }
      for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++)
        for (size_t len = bases[b] - 255; len <= bases[b] + 255; len++) {
          size_t al = tsr_test_rnd_below(50);
          ok &= aead_case(c, p, len, al, tsr_test_rnd_below(al + 1), (int)(len & 1), (int)(len % 4));
        }
      snprintf(name, sizeof name, "%s+%s: every length 0..4351 and the tails of 4K..32K equal EVP", c->name, p->name);
      CHECK(ok, name);

      ok = 1;
      for (size_t al = 0; al <= 1024; al++)
        for (int k = 0; k < 2; k++)
          ok &= aead_case(c, p, tsr_test_rnd_below(300), al, k && al ? (al / 2) | 1 : tsr_test_rnd_below(al + 1), k, 3);
      snprintf(name, sizeof name, "%s+%s: aad lengths 0..1024 with odd a1/a2 splits equal EVP", c->name, p->name);
      CHECK(ok, name);

      ok = 1;
      for (size_t i = 0; i < ncases; i++) {
        size_t r = tsr_test_rnd_below(16);
        size_t len = r < 8 ? tsr_test_rnd_below(300) : r < 14 ? tsr_test_rnd_below(4500) : tsr_test_rnd_below(BIG);
        size_t al = tsr_test_rnd_below(r & 1 ? 1025 : 64);
        ok &= aead_case(c, p, len, al, tsr_test_rnd_below(al + 1), (int)(tsr_test_rng64() & 1),
                        (int)tsr_test_rnd_below(4));
      }
      snprintf(name, sizeof name, "%s+%s: %zu random cases (seal, open, tamper) equal EVP", c->name, p->name, ncases);
      CHECK(ok, name);
    }
}

static void test_huge(size_t len) {
  uint8_t key[32], nonce[12], ad[45];
  uint8_t *m = malloc(len + 1), *r = malloc(len + 16), *s = malloc(len + 17);
  if (!m || !r || !s) abort();
  tsr_test_rnd(key, 32);
  tsr_test_rnd(nonce, 12);
  tsr_test_rnd(ad, sizeof ad);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t v = tsr_test_rng64();
    memcpy(m + 1 + i, &v, len - i < 8 ? len - i : 8);
  }
  ossl_seal(r, key, nonce, m + 1, len, ad, sizeof ad);
  for (int ci = 0; ci < nchacha; ci++)
    for (int pi = 0; pi < npoly; pi++) {
      char name[96];
      tsr_chachapoly_kern_seal(chachas[ci], polys[pi], ps, key, s + 1, nonce, m + 1, len, ad, 13, ad + 13, 32);
      int ok = memcmp(s + 1, r, len + 16) == 0;
      ok &= tsr_chachapoly_kern_open(chachas[ci], polys[pi], ps, key, s + 1, nonce, s + 1, len, s + 1 + len, ad, 45,
                                     NULL, 0) == 0 &&
            memcmp(s + 1, m + 1, len) == 0;
      memcpy(s + 1, r, len + 16);
      s[1 + len / 2] ^= 4;
      ok &= tsr_chachapoly_kern_open(chachas[ci], polys[pi], ps, key, s + 1, nonce, s + 1, len, s + 1 + len, ad, 45,
                                     NULL, 0) == -1 &&
            all_zero(s + 1, len);
      snprintf(name, sizeof name, "%s+%s: %zu MiB seal/open in place equal EVP, tamper zeroes out", chachas[ci]->name,
               polys[pi]->name, len >> 20);
      CHECK(ok, name);
    }
  free(m);
  free(r);
  free(s);
}

int main(void) {
  unsigned f = tsr_cpu_features();
  if (f & TSR_CPU_AVX2) chachas[nchacha++] = &tsr_chacha20_avx2;
  if (f & TSR_CPU_AVX512) chachas[nchacha++] = &tsr_chacha20_avx512;
  polys[npoly++] = &tsr_poly1305_scalar64;
  if (f & TSR_CPU_AVX2) polys[npoly++] = &tsr_poly1305_avx2;
  if (f & TSR_CPU_AVX512IFMA) polys[npoly++] = &tsr_poly1305_ifma;
  printf("# chacha tiers: %d, poly1305 tiers: %d\n", nchacha, npoly);
  ps = tsr_secmem_alloc(sizeof *ps);
  if (!ps) abort();
  tsr_test_seed(0xc4ac4a20ULL);
  test_kat();
  test_chacha();
  test_poly();
  test_aead();
  test_huge(1u << 20);
  test_huge(64u << 20);
  tsr_secmem_free(ps);
  return tsr_test_done();
}
