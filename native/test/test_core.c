/* C tests of the shared C groups: HChaCha20 (draft-irtf-cfrg-xchacha-03 2.2.1),
 * constant-time helpers, algorithm parameters. */
#include <stdint.h>

#include "../chacha20/tsr_chacha20.h"
#include "../aead/tsr_aead.h"
#include "../util/tsr_util.h"
#include "tsr_test.h"

static void test_hchacha20(void) {
  uint8_t key[32], nonce[16], out[32], want[32];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
  tsr_test_unhex(nonce, "000000090000004a0000000031415927");
  tsr_test_unhex(want, "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
  tsr_hchacha20(out, key, nonce);
  CHECK(memcmp(out, want, 32) == 0, "HChaCha20 matches draft-irtf-cfrg-xchacha-03 section 2.2.1");
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
  test_util();
  return tsr_test_done();
}
