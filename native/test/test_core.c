/* C tests of native/core: HChaCha20 (draft-irtf-cfrg-xchacha-03 2.2.1),
 * message format v1 parsing (docs/API.md), constant-time helpers. */
#include <stdint.h>

#include "../core/tsr_chacha20.h"
#include "../core/tsr_format.h"
#include "../core/tsr_util.h"
#include "tsr_test.h"

static void test_hchacha20(void) {
  uint8_t key[32], nonce[16], out[32], want[32];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
  tsr_test_unhex(nonce, "000000090000004a0000000031415927");
  tsr_test_unhex(want, "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
  tsr_hchacha20(out, key, nonce);
  CHECK(memcmp(out, want, 32) == 0, "HChaCha20 matches draft-irtf-cfrg-xchacha-03 section 2.2.1");
}

static void test_format(void) {
  uint8_t msg[64] = {0}, nonce[24];
  for (int i = 0; i < 24; i++) nonce[i] = (uint8_t)(0xA0 + i);
  size_t h = tsr_format_write_header(msg, TSR_AEAD_XAES256GCM, 0xdeadbeefu, nonce);
  CHECK(h == 30 && msg[0] == 1 && msg[1] == 4, "header: version 1, alg id 4, 30 bytes");
  CHECK(msg[2] == 0xde && msg[3] == 0xad && msg[4] == 0xbe && msg[5] == 0xef, "header: key id big-endian");
  CHECK(memcmp(msg + 6, nonce, 24) == 0, "header: nonce follows key id");
  tsr_format_msg m;
  CHECK(tsr_format_parse(msg, 46, &m) == TSR_OK && m.alg == TSR_AEAD_XAES256GCM && m.key_id == 0xdeadbeefu &&
            m.header_len == 30 && m.sealed == msg + 30 && m.sealed_len == 16 && m.nonce == msg + 6,
        "parse: round trip of header fields");
  CHECK(tsr_format_parse(msg, 45, &m) == TSR_ERR_FORMAT, "parse: shorter than header + tag is ERR_FORMAT");
  CHECK(tsr_format_parse(msg, 5, &m) == TSR_ERR_FORMAT, "parse: shorter than fixed part is ERR_FORMAT");
  msg[0] = 2;
  CHECK(tsr_format_parse(msg, 46, &m) == TSR_ERR_FORMAT, "parse: unknown version is ERR_FORMAT");
  msg[0] = 1;
  msg[1] = 0;
  CHECK(tsr_format_parse(msg, 46, &m) == TSR_ERR_ALGORITHM, "parse: alg id 0 is ERR_ALGORITHM");
  msg[1] = 5;
  CHECK(tsr_format_parse(msg, 46, &m) == TSR_ERR_ALGORITHM, "parse: alg id 5 is ERR_ALGORITHM");
  CHECK(tsr_format_sealed_len(TSR_AEAD_AES256GCM, 64) == 6 + 12 + 64 + 16, "sealed length, 96-bit nonce");
  CHECK(tsr_format_sealed_len(TSR_AEAD_XCHACHA20POLY1305, 0) == 6 + 24 + 16, "sealed length, 192-bit nonce");
  /* Every length 0..45 with a valid prefix either parses or fails cleanly. */
  int ok = 1;
  msg[1] = 1;
  for (size_t len = 0; len < 46; len++) {
    tsr_status st = tsr_format_parse(msg, len, &m);
    if ((len >= 34) != (st == TSR_OK)) ok = 0;
  }
  CHECK(ok, "parse: every short length is refused, every long enough one accepted");
}

static void test_util(void) {
  uint8_t a[32], b[32];
  memset(a, 7, 32);
  memset(b, 7, 32);
  CHECK(tsr_ct_compare(a, b, 32) == 0, "ct_compare: equal");
  int all = 1;
  for (int i = 0; i < 32; i++) {
    for (int bit = 0; bit < 8; bit++) {
      b[i] ^= (uint8_t)(1 << bit);
      if (tsr_ct_compare(a, b, 32) != -1) all = 0;
      b[i] ^= (uint8_t)(1 << bit);
    }
  }
  CHECK(all, "ct_compare: every single-bit difference detected");
  tsr_memzero(a, 32);
  int zero = 1;
  for (int i = 0; i < 32; i++) zero &= a[i] == 0;
  CHECK(zero, "memzero clears");
  CHECK(tsr_aead_nonce_len(TSR_AEAD_AES256GCM) == 12 && tsr_aead_nonce_len(TSR_AEAD_CHACHA20POLY1305) == 12 &&
            tsr_aead_nonce_len(TSR_AEAD_XCHACHA20POLY1305) == 24 && tsr_aead_nonce_len(TSR_AEAD_XAES256GCM) == 24,
        "nonce lengths");
}

int main(void) {
  test_hchacha20();
  test_format();
  test_util();
  return tsr_test_done();
}
