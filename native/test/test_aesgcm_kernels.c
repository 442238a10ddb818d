/* C tests of tessera's x86-64 AES-GCM kernels (native/aead/aesgcm): every
 * tier this CPU supports, AES-128 and AES-256, against OpenSSL's libcrypto
 * (GCM, ECB) and against each other: ECB, GHASH (vs SP 800-38D section 6.3
 * through tsr_gf128), every length 0..4351 (all tails around multiples of
 * 16..4096), random cases (lengths, AAD with a1/a2 splits, unaligned and
 * in-place buffers, tampering), 1 MiB and 64 MiB messages, streaming enc/dec
 * in pieces, and the 32-bit counter wrap (SP 800-38D section 6.2, inc32);
 * the one-call path (impl->aead) at every length 0..512 x AAD 0..64 and
 * the composed steps tsr_aesgcm_split.c uses.
 * TSR_TEST_CASES sets the random cases per tier and key size (default
 * 10000). The key state lives in tsr_secmem memory, as in production. */
#include <openssl/evp.h>
#include <stdint.h>

#include "../aead/aesgcm/tsr_aesgcm.h"
#include "../aead/tsr_cpu.h"
#include "../aead/aesgcm/tsr_gf128.h"
#include "../util/tsr_util.h"
#include "../secmem/tsr_secmem.h"
#include "tsr_test.h"

static const tsr_aesgcm_impl *tiers[3];
static int ntiers;

#define NAME(fmt, ...)                         \
  ({                                           \
    static char n_[200];                       \
    snprintf(n_, sizeof n_, fmt, __VA_ARGS__); \
    n_;                                        \
  })

/* OpenSSL reference: out = C || T. */
static void ref_seal(size_t kl, const uint8_t *key, const uint8_t *iv, const uint8_t *aad, size_t al, const uint8_t *pt,
                     size_t len, uint8_t *out) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(c, kl == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), NULL, key, iv);
  if (al) EVP_EncryptUpdate(c, NULL, &n, aad, (int)al);
  for (size_t off = 0; off < len;) { /* int-sized chunks */
    size_t step = len - off > (1u << 30) ? (1u << 30) : len - off;
    EVP_EncryptUpdate(c, out + off, &n, pt + off, (int)step);
    off += step;
  }
  EVP_EncryptFinal_ex(c, out + len, &n);
  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + len);
  EVP_CIPHER_CTX_free(c);
}

static void ref_ecb(size_t kl, const uint8_t *key, uint8_t *out, const uint8_t *in, size_t len) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(c, kl == 32 ? EVP_aes_256_ecb() : EVP_aes_128_ecb(), NULL, key, NULL);
  EVP_CIPHER_CTX_set_padding(c, 0);
  if (len) EVP_EncryptUpdate(c, out, &n, in, (int)len);
  EVP_EncryptFinal_ex(c, out + n, &n);
  EVP_CIPHER_CTX_free(c);
}

static int all_zero(const uint8_t *p, size_t n) {
  uint8_t o = 0;
  for (size_t i = 0; i < n; i++) o |= p[i];
  return o == 0;
}

static uint8_t *big_in, *big_out, *big_ref;
static tsr_aesgcm_key *key_state;

/* One seal/open round trip of every tier against OpenSSL (len <= 300000).
 * Returns a bitmask of failures: 1 seal, 2 open, 4 tamper, 8 cross-tier. */
static int one_case(size_t kl, size_t len, size_t al, size_t l1, size_t ioff, size_t ooff, int inplace,
                    int tamper_kind) {
  static uint8_t aad[1100], a2buf[1100 + 64], ptcopy[300000];
  uint8_t key[32], iv[12], first[16], tag[16];
  int bad = 0;
  tsr_test_rnd(key, kl);
  tsr_test_rnd(iv, 12);
  tsr_test_rnd(aad, al);
  uint8_t *pt = big_in + ioff, *out = inplace ? pt : big_out + ooff;
  uint8_t *scratch = big_ref + 400000 + ooff; /* tampered C || T, opened in place */
  tsr_test_rnd(pt, len);
  memcpy(ptcopy, pt, len);
  ref_seal(kl, key, iv, aad, al, pt, len, big_ref);
  uint8_t *a2 = a2buf + 1 + (len % 63); /* a2 not contiguous with a1 */
  memcpy(a2, aad + l1, al - l1);
  for (int t = 0; t < ntiers; t++) {
    const tsr_aesgcm_impl *im = tiers[t];
    im->init(key_state, key, kl);
    if (inplace) memcpy(pt, ptcopy, len);
    tsr_aesgcm_seal(im, key_state, out, iv, pt, len, aad, l1, a2, al - l1);
    if (memcmp(out, big_ref, len + 16) != 0) bad |= 1;
    if (t == 0)
      memcpy(first, out + len, 16);
    else if (memcmp(first, out + len, 16) != 0)
      bad |= 8;
    memcpy(tag, out + len, 16);
    if (tsr_aesgcm_open(im, key_state, out, iv, out, len, tag, aad, l1, a2, al - l1) != 0 ||
        memcmp(out, ptcopy, len) != 0)
      bad |= 2;
    /* tamper with one bit of the ciphertext, the tag or a2 */
    memcpy(scratch, big_ref, len + 16);
    int kind = tamper_kind;
    if (kind == 0 && len == 0) kind = 1;
    if (kind == 2 && al == l1) kind = 1;
    if (kind == 0)
      scratch[tsr_test_rnd_below(len)] ^= (uint8_t)(1u << tsr_test_rnd_below(8));
    else if (kind == 1)
      scratch[len + tsr_test_rnd_below(16)] ^= (uint8_t)(1u << tsr_test_rnd_below(8));
    else
      a2[tsr_test_rnd_below(al - l1)] ^= 1;
    if (tsr_aesgcm_open(im, key_state, scratch, iv, scratch, len, scratch + len, aad, l1, a2, al - l1) != -1 ||
        !all_zero(scratch, len))
      bad |= 4;
    if (kind == 2) memcpy(a2, aad + l1, al - l1);
  }
  return bad;
}

static void test_lengths(size_t kl) {
  int bad = 0;
  for (size_t len = 0; len <= 4096 + 255; len++) {
    size_t al = (len * 7) % 1025, l1 = al ? (len * 13) % (al + 1) : 0;
    bad |= one_case(kl, len, al, l1, len % 64, (len / 64) % 64, 0, (int)(len % 3));
  }
  CHECK(bad == 0, NAME("AES-%d-GCM every length 0..4351 (aad 0..1024, odd splits, offsets) = OpenSSL, all tiers "
                       "(fail mask %d)",
                       (int)(8 * kl), bad));
}

/* The composed steps (tsr_aesgcm_j0 / hash_aad / enc / finish), as
 * tsr_aesgcm_split.c uses them: out = C || T. */
static void composed_seal(const tsr_aesgcm_impl *im, uint8_t *out, const uint8_t *iv, const uint8_t *pt, size_t len,
                          const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2) {
  uint8_t acc[16] = {0}, j0[16], ctr[16];
  tsr_aesgcm_j0(j0, ctr, iv);
  tsr_aesgcm_hash_aad(im, key_state, acc, a1, l1, a2, l2);
  if (len) im->enc(key_state, ctr, acc, out, pt, len);
  tsr_aesgcm_finish(im, key_state, acc, j0, (uint64_t)l1 + l2, len, out + len);
}

/* Short messages, the one-call path (impl->aead through tsr_aesgcm_seal /
 * open): every length 0..512 with every AAD length 0..64, the AAD whole in
 * a1, whole in a2 or split at an odd point (joined by the front), out of
 * place and in place, guard bytes around the output, tamper; and the
 * composed steps on the same cases. */
static void test_short(size_t kl) {
  static uint8_t pt[600], out[700], ref[600], aad[64], a2buf[80];
  uint8_t key[32], iv[12], tag[16];
  int bad = 0;
  for (size_t len = 0; len <= 512; len++) {
    tsr_test_rnd(key, kl);
    for (int t = 0; t < ntiers; t++) tiers[t]->init(key_state, key, kl); /* same key state for every tier */
    for (size_t al = 0; al <= 64; al++) {
      const size_t sp[3] = {al, 0, al ? (2 * (len + al) + 1) % (al + 1) : 0};
      const size_t l1 = sp[(len + al) % 3], ooff = 1 + (len + al) % 60;
      uint8_t *a2 = a2buf + 1 + al % 13, *o = out + ooff;
      tsr_test_rnd(iv, 12);
      tsr_test_rnd(aad, al);
      tsr_test_rnd(pt, len);
      memcpy(a2, aad + l1, al - l1);
      ref_seal(kl, key, iv, aad, al, pt, len, ref);
      for (int t = 0; t < ntiers; t++) {
        const tsr_aesgcm_impl *im = tiers[t];
        im->init(key_state, key, kl);
        memset(out, 0xA5, sizeof out);
        tsr_aesgcm_seal(im, key_state, o, iv, pt, len, aad, l1, a2, al - l1);
        if (memcmp(o, ref, len + 16)) bad |= 1;
        if (!(out[ooff - 1] == 0xA5 && o[len + 16] == 0xA5 && o[len + 17] == 0xA5)) bad |= 16;
        memcpy(tag, o + len, 16);
        if (tsr_aesgcm_open(im, key_state, o, iv, o, len, o + len, aad, l1, a2, al - l1) || memcmp(o, pt, len))
          bad |= 2;
        if (!(out[ooff - 1] == 0xA5 && o[len + 16] == 0xA5)) bad |= 16;
        memcpy(o, ref, len);
        memcpy(o + len, tag, 16);
        o[len + (len + al) % 16] ^= 0x10; /* the tag, or a ciphertext byte below */
        if (len) o[(len * 7 + al) % len] ^= (uint8_t)((len + al) & 1);
        if (tsr_aesgcm_open(im, key_state, o, iv, o, len, o + len, aad, l1, a2, al - l1) != -1 || !all_zero(o, len))
          bad |= 4;
        composed_seal(im, o, iv, pt, len, aad, l1, a2, al - l1);
        if (memcmp(o, ref, len + 16)) bad |= 8;
      }
    }
  }
  CHECK(bad == 0, NAME("AES-%d-GCM one-call path: every length 0..512 x aad 0..64 (whole / a2 / odd splits), "
                       "guards, in place, tamper; composed steps = OpenSSL, all tiers (fail mask %d)",
                       (int)(8 * kl), bad));
}

static size_t case_count(void) {
  const char *e = getenv("TSR_TEST_CASES");
  return e && *e ? (size_t)strtoull(e, NULL, 10) : 10000;
}

static void test_random(size_t kl) {
  size_t n = case_count();
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    size_t r = tsr_test_rnd_below(100), len;
    if (r < 40)
      len = tsr_test_rnd_below(600);
    else if (r < 85)
      len = tsr_test_rnd_below(4400);
    else if (r < 97)
      len = tsr_test_rnd_below(20000);
    else
      len = tsr_test_rnd_below(300000);
    size_t al = tsr_test_rnd_below(100) < 30 ? 0 : tsr_test_rnd_below(1025);
    size_t l1 = tsr_test_rnd_below(al + 1);
    int b = one_case(kl, len, al, l1, tsr_test_rnd_below(64), tsr_test_rnd_below(64), tsr_test_rnd_below(4) == 0,
                     (int)tsr_test_rnd_below(3));
    if (b && !bad) printf("# first failure: len %zu aad %zu split %zu mask %d\n", len, al, l1, b);
    bad |= b;
  }
  CHECK(bad == 0, NAME("AES-%d-GCM %zu random cases x %d tiers (lengths to 300 KB, aad, splits, unaligned, in place, "
                       "tamper) (fail mask %d)",
                       (int)(8 * kl), n, ntiers, bad));
}

static void test_big(size_t kl) {
  const size_t sizes[] = {1u << 20, 64u << 20};
  for (int s = 0; s < 2; s++) {
    size_t len = sizes[s];
    uint8_t key[32], iv[12], aad[33], tag[16];
    int bad = 0;
    tsr_test_rnd(key, kl);
    tsr_test_rnd(iv, 12);
    tsr_test_rnd(aad, sizeof aad);
    tsr_test_rnd(big_in, len);
    ref_seal(kl, key, iv, aad, sizeof aad, big_in, len, big_ref);
    for (int t = 0; t < ntiers; t++) {
      tiers[t]->init(key_state, key, kl);
      tsr_aesgcm_seal(tiers[t], key_state, big_out + 3, iv, big_in, len, aad, 5, aad + 5, sizeof aad - 5);
      if (memcmp(big_out + 3, big_ref, len + 16)) bad |= 1 << t;
      memcpy(tag, big_out + 3 + len, 16);
      if (tsr_aesgcm_open(tiers[t], key_state, big_out + 3, iv, big_out + 3, len, tag, aad, 5, aad + 5,
                          sizeof aad - 5) ||
          memcmp(big_out + 3, big_in, len))
        bad |= 8 << t;
    }
    CHECK(bad == 0, NAME("AES-%d-GCM %zu MiB seal/open = OpenSSL, all tiers (mask %d)", (int)(8 * kl), len >> 20, bad));
  }
}

static void test_ecb_ghash(const tsr_aesgcm_impl *im, size_t kl) {
  static uint8_t in[70 * 16 + 17], got[70 * 16 + 2], want[70 * 16];
  uint8_t key[32];
  int ok = 1, inplace = 1, gh = 1;
  for (size_t n = 0; n <= 70; n++) {
    tsr_test_rnd(key, kl);
    tsr_test_rnd(in, sizeof in);
    im->init(key_state, key, kl);
    ref_ecb(kl, key, want, in + 1, 16 * n);
    memset(got, 0xAA, sizeof got);
    im->ecb(key_state, got + 1, in + 1, n);
    ok &= memcmp(got + 1, want, 16 * n) == 0 && got[0] == 0xAA && got[1 + 16 * n] == 0xAA;
    im->ecb(key_state, in + 1, in + 1, n);
    inplace &= memcmp(in + 1, want, 16 * n) == 0;
    /* GHASH (SP 800-38D section 6.4) through tsr_gf128_mul, H = E_K(0). */
    uint8_t zero[16] = {0}, hb[16], acc[16], acc0[16], blk[16];
    ref_ecb(kl, key, hb, zero, 16);
    tsr_gf128 h = tsr_gf128_load(hb), y;
    for (int rep = 0; rep < 4; rep++) {
      size_t len = tsr_test_rnd_below(16 * n + 17);
      tsr_test_rnd(acc0, 16);
      tsr_test_rnd(in, len);
      y = tsr_gf128_load(acc0);
      for (size_t off = 0; off < len; off += 16) {
        memset(blk, 0, 16);
        memcpy(blk, in + off, len - off < 16 ? len - off : 16);
        y = tsr_gf128_mul(tsr_gf128_xor(y, tsr_gf128_load(blk)), h);
      }
      tsr_gf128_store(blk, y);
      memcpy(acc, acc0, 16);
      im->ghash(key_state, acc, in, len);
      gh &= memcmp(acc, blk, 16) == 0;
    }
  }
  CHECK(ok, NAME("%s AES-%d ECB = OpenSSL, 0..70 blocks, unaligned", im->name, (int)(8 * kl)));
  CHECK(inplace, NAME("%s AES-%d ECB in place", im->name, (int)(8 * kl)));
  CHECK(gh, NAME("%s AES-%d GHASH = SP 800-38D Algorithm 2 (tsr_gf128), lengths 0..1136", im->name, (int)(8 * kl)));
}

/* enc/dec in full-block pieces then a final partial piece = one call. */
static void test_streaming(const tsr_aesgcm_impl *im, size_t kl) {
  int ok = 1;
  for (int trial = 0; trial < 300; trial++) {
    uint8_t key[32], ctr0[16], c1[16], c2[16], a1[16], a2[16];
    size_t len = tsr_test_rnd_below(trial < 200 ? 2000 : 70000);
    tsr_test_rnd(key, kl);
    tsr_test_rnd(ctr0, 16);
    tsr_test_rnd(a1, 16);
    memcpy(a2, a1, 16);
    tsr_test_rnd(big_in, len);
    im->init(key_state, key, kl);
    memcpy(c1, ctr0, 16);
    memcpy(c2, ctr0, 16);
    int d = trial & 1;
    (d ? im->dec : im->enc)(key_state, c1, a1, big_ref, big_in, len);
    size_t off = 0;
    while (len - off >= 16) {
      size_t piece = 16 * (1 + tsr_test_rnd_below((len - off) / 16 < 40 ? (len - off) / 16 : 40));
      if (tsr_test_rnd_below(4) == 0) piece = 16 * (1 + tsr_test_rnd_below((len - off) / 16));
      (d ? im->dec : im->enc)(key_state, c2, a2, big_out + off, big_in + off, piece);
      off += piece;
    }
    if (off < len) (d ? im->dec : im->enc)(key_state, c2, a2, big_out + off, big_in + off, len - off);
    ok &= memcmp(big_ref, big_out, len) == 0 && memcmp(a1, a2, 16) == 0 && memcmp(c1, c2, 16) == 0;
  }
  CHECK(ok, NAME("%s AES-%d enc/dec in full-block pieces + final partial = one call", im->name, (int)(8 * kl)));
}

/* inc32 wraps mod 2^32 and leaves bytes 0..11 alone: reference keystream
 * from OpenSSL ECB on counter blocks built here; GHASH of the ciphertext
 * from the tier's ghash. */
static void test_wrap(const tsr_aesgcm_impl *im, size_t kl) {
  static uint8_t blocks[80 * 16], ks[80 * 16], data[80 * 16], out[80 * 16];
  int ok = 1;
  for (uint32_t start = 0xFFFFFFB0u; start != 0x00000004u; start += 3) {
    uint8_t key[32], ctr[16], acc[16] = {0}, acc2[16] = {0};
    size_t len = 16 + tsr_test_rnd_below(80 * 16 - 16);
    tsr_test_rnd(key, kl);
    tsr_test_rnd(ctr, 12);
    tsr_store32_be(ctr + 12, start);
    tsr_test_rnd(data, len);
    for (uint32_t i = 0; i < 80; i++) {
      memcpy(blocks + 16 * i, ctr, 12);
      tsr_store32_be(blocks + 16 * i + 12, start + i);
    }
    ref_ecb(kl, key, ks, blocks, sizeof blocks);
    im->init(key_state, key, kl);
    im->enc(key_state, ctr, acc, out, data, len);
    for (size_t i = 0; i < len; i++) ok &= out[i] == (uint8_t)(data[i] ^ ks[i]);
    ok &= memcmp(ctr, blocks, 12) == 0 && tsr_load32_be(ctr + 12) == start + (uint32_t)((len + 15) / 16);
    im->ghash(key_state, acc2, out, len);
    ok &= memcmp(acc, acc2, 16) == 0;
  }
  CHECK(ok,
        NAME("%s AES-%d counter wraps mod 2^32 (starts 0xffffffb0..0x3), IV bytes untouched", im->name, (int)(8 * kl)));
}

int main(void) {
  tsr_test_seed(0x7e55e7a6c3ULL);
  unsigned f = tsr_cpu_features();
  if (f & TSR_CPU_AESNI) tiers[ntiers++] = &tsr_aesgcm_aesni;
  if (f & TSR_CPU_VAES256) tiers[ntiers++] = &tsr_aesgcm_vaes256;
  if (f & TSR_CPU_VAES512) tiers[ntiers++] = &tsr_aesgcm_vaes512;
  printf("# tiers:");
  for (int t = 0; t < ntiers; t++) printf(" %s", tiers[t]->name);
  printf("\n");
  if (!ntiers) {
    printf("1..0 # SKIP no AES-NI\n");
    return 0;
  }
  const size_t big = (64u << 20) + 256;
  big_in = malloc(big);
  big_out = malloc(big);
  big_ref = malloc(big);
  key_state = tsr_secmem_alloc(sizeof(tsr_aesgcm_key));
  if (!big_in || !big_out || !big_ref || !key_state) return 2;
  for (size_t kl = 16; kl <= 32; kl += 16) {
    for (int t = 0; t < ntiers; t++) {
      test_ecb_ghash(tiers[t], kl);
      test_streaming(tiers[t], kl);
      test_wrap(tiers[t], kl);
    }
    test_short(kl);
    test_lengths(kl);
    test_random(kl);
    test_big(kl);
  }
  tsr_secmem_free(key_state);
  free(big_in);
  free(big_out);
  free(big_ref);
  return tsr_test_done();
}
