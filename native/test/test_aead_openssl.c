/* C tests of native/openssl/tsr_aead_openssl.c: known answers (c2sp
 * XAES-256-GCM, RFC 8439 section 2.8.2, draft-irtf-cfrg-xchacha-03 A.3.1
 * tags), in-place operation, split associated data, tamper handling (output
 * wiped), re-keying. Runs under ASan/UBSan in CI. */
#include <stdint.h>

#include "../aead/tsr_aead.h"
#include "tsr_test.h"

static tsr_aead_ctx *new_ctx(tsr_aead_alg alg, const uint8_t *key) {
  tsr_status st;
  tsr_aead_ctx *c = tsr_aead_ctx_new(alg, key, &st);
  if (!c) {
    printf("Bail out! ctx_new failed: %d\n", st);
    exit(1);
  }
  return c;
}

static void test_xaes_kat(void) {
  uint8_t key[32], out[64], want[28];
  const uint8_t *nonce = (const uint8_t *)"ABCDEFGHIJKLMNOPQRSTUVWX";
  memset(key, 1, 32);
  tsr_aead_ctx *c = new_ctx(TSR_AEAD_XAES256GCM, key);
  tsr_test_unhex(want, "ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271");
  CHECK(tsr_aead_seal(c, out, nonce, (const uint8_t *)"XAES-256-GCM", 12, NULL, 0, NULL, 0) == TSR_OK &&
            memcmp(out, want, 28) == 0,
        "XAES-256-GCM known answer 1 (MSB(L) = 0)");
  memset(key, 3, 32);
  CHECK(tsr_aead_ctx_rekey(c, key) == TSR_OK, "rekey");
  tsr_test_unhex(want, "986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d");
  const char *aad = "c2sp.org/XAES-256-GCM";
  /* The associated data split at an arbitrary point must not matter. */
  CHECK(tsr_aead_seal(c, out, nonce, (const uint8_t *)"XAES-256-GCM", 12, (const uint8_t *)aad, 5,
                      (const uint8_t *)aad + 5, strlen(aad) - 5) == TSR_OK &&
            memcmp(out, want, 28) == 0,
        "XAES-256-GCM known answer 2 (MSB(L) = 1), aad split");
  uint8_t pt[12];
  CHECK(tsr_aead_open(c, pt, nonce, out, 28, (const uint8_t *)aad, strlen(aad), NULL, 0) == TSR_OK &&
            memcmp(pt, "XAES-256-GCM", 12) == 0,
        "XAES-256-GCM open");
  tsr_aead_ctx_free(c);
}

static const char *SUNSCREEN =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be "
    "it.";

static void test_chacha_tags(void) {
  uint8_t key[32], nonce[24], aad[12], out[160], tag[16];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)(0x80 + i);
  tsr_test_unhex(nonce, "070000004041424344454647");
  tsr_test_unhex(aad, "50515253c0c1c2c3c4c5c6c7");
  size_t n = strlen(SUNSCREEN);
  tsr_aead_ctx *c = new_ctx(TSR_AEAD_CHACHA20POLY1305, key);
  tsr_test_unhex(tag, "1ae10b594f09e26a7e902ecbd0600691");
  CHECK(tsr_aead_seal(c, out, nonce, (const uint8_t *)SUNSCREEN, n, aad, 12, NULL, 0) == TSR_OK &&
            memcmp(out + n, tag, 16) == 0,
        "ChaCha20-Poly1305 RFC 8439 2.8.2 tag");
  tsr_aead_ctx_free(c);

  c = new_ctx(TSR_AEAD_XCHACHA20POLY1305, key);
  tsr_test_unhex(nonce, "404142434445464748494a4b4c4d4e4f5051525354555657");
  tsr_test_unhex(tag, "c0875924c1c7987947deafd8780acf49");
  CHECK(tsr_aead_seal(c, out, nonce, (const uint8_t *)SUNSCREEN, n, aad, 12, NULL, 0) == TSR_OK &&
            memcmp(out + n, tag, 16) == 0,
        "XChaCha20-Poly1305 draft A.3.1 tag");
  tsr_aead_ctx_free(c);
}

static void test_properties(tsr_aead_alg alg, const char *name) {
  char label[128];
  uint8_t key[32], nonce[24], pt[1000], a[1016], b[1016], back[1000];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)(i * 7);
  for (int i = 0; i < 24; i++) nonce[i] = (uint8_t)(i * 3);
  for (int i = 0; i < 1000; i++) pt[i] = (uint8_t)(i * 13);
  tsr_aead_ctx *c = new_ctx(alg, key);
  const uint8_t aad[] = "header||user aad";

  CHECK(tsr_aead_seal(c, a, nonce, pt, sizeof pt, aad, 6, aad + 6, sizeof aad - 6) == TSR_OK, "seal");
  memcpy(b, pt, sizeof pt);
  CHECK(tsr_aead_seal(c, b, nonce, b, sizeof pt, aad, sizeof aad, NULL, 0) == TSR_OK && memcmp(a, b, sizeof a) == 0,
        (snprintf(label, sizeof label, "%s: in-place seal equals out-of-place, aad split", name), label));
  CHECK(tsr_aead_open(c, b, nonce, b, sizeof b, aad, sizeof aad, NULL, 0) == TSR_OK && memcmp(b, pt, sizeof pt) == 0,
        (snprintf(label, sizeof label, "%s: in-place open", name), label));
  CHECK(tsr_aead_seal(c, a, nonce, NULL, 0, NULL, 0, NULL, 0) == TSR_OK &&
            tsr_aead_open(c, back, nonce, a, 16, NULL, 0, NULL, 0) == TSR_OK,
        (snprintf(label, sizeof label, "%s: empty plaintext, no aad", name), label));

  tsr_aead_seal(c, a, nonce, pt, sizeof pt, aad, sizeof aad, NULL, 0);
  int all = 1;
  for (size_t pos = 0; pos < sizeof a; pos += 61) {
    a[pos] ^= 0x01;
    memset(back, 0xAA, sizeof back);
    tsr_status st = tsr_aead_open(c, back, nonce, a, sizeof a, aad, sizeof aad, NULL, 0);
    int wiped = 1;
    for (size_t i = 0; i < sizeof back; i++) wiped &= back[i] == 0;
    all &= st == TSR_ERR_AUTH && wiped;
    a[pos] ^= 0x01;
  }
  a[sizeof a - 1] ^= 0x80; /* last tag byte */
  memset(back, 0xAA, sizeof back);
  all &= tsr_aead_open(c, back, nonce, a, sizeof a, aad, sizeof aad, NULL, 0) == TSR_ERR_AUTH && back[0] == 0;
  a[sizeof a - 1] ^= 0x80;
  CHECK(all, (snprintf(label, sizeof label, "%s: any flipped bit is ERR_AUTH and the output is wiped", name), label));
  CHECK(tsr_aead_open(c, back, nonce, a, sizeof a, aad, sizeof aad - 1, NULL, 0) == TSR_ERR_AUTH,
        (snprintf(label, sizeof label, "%s: wrong aad is ERR_AUTH", name), label));
  CHECK(tsr_aead_open(c, back, nonce, a, 15, NULL, 0, NULL, 0) == TSR_ERR_FORMAT,
        (snprintf(label, sizeof label, "%s: shorter than a tag is ERR_FORMAT", name), label));
  nonce[0] ^= 1;
  CHECK(tsr_aead_open(c, back, nonce, a, sizeof a, aad, sizeof aad, NULL, 0) == TSR_ERR_AUTH,
        (snprintf(label, sizeof label, "%s: wrong nonce is ERR_AUTH", name), label));
  nonce[0] ^= 1;
  key[0] ^= 1;
  tsr_aead_ctx_rekey(c, key);
  CHECK(tsr_aead_open(c, back, nonce, a, sizeof a, aad, sizeof aad, NULL, 0) == TSR_ERR_AUTH,
        (snprintf(label, sizeof label, "%s: rekeyed context refuses the old key's message", name), label));
  tsr_aead_ctx_free(c);
}

int main(void) {
  test_xaes_kat();
  test_chacha_tags();
  test_properties(TSR_AEAD_AES256GCM, "AES-256-GCM");
  test_properties(TSR_AEAD_CHACHA20POLY1305, "ChaCha20-Poly1305");
  test_properties(TSR_AEAD_XCHACHA20POLY1305, "XChaCha20-Poly1305");
  test_properties(TSR_AEAD_XAES256GCM, "XAES-256-GCM");
  tsr_status st;
  CHECK(tsr_aead_ctx_new((tsr_aead_alg)9, (const uint8_t *)"0123456789abcdef0123456789abcdef", &st) == NULL &&
            st == TSR_ERR_ALGORITHM,
        "unknown algorithm refused");
  return tsr_test_done();
}
