/* C tests of native/message: message format v1 (docs/API.md) sealed and
 * opened over a real context, batches, and the nonce pool. Every algorithm,
 * against tsr_aead_seal / tsr_aead_open called by hand with the header as
 * the first associated data. */
#include <stdint.h>
#include <string.h>

#include "../aead/tsr_aead.h"
#include "../message/tsr_message.h"
#include "../message/tsr_nonce.h"
#include "tsr_test.h"

static const tsr_aead_alg ALGS[] = {TSR_AEAD_AES256GCM, TSR_AEAD_CHACHA20POLY1305, TSR_AEAD_XCHACHA20POLY1305,
                                    TSR_AEAD_XAES256GCM};

static void test_header(void) {
  uint8_t msg[64] = {0}, nonce[24];
  for (int i = 0; i < 24; i++) nonce[i] = (uint8_t)(0xA0 + i);
  size_t h = tsr_message_write_header(msg, TSR_AEAD_XAES256GCM, 0xdeadbeefu, nonce);
  CHECK(h == 30 && msg[0] == 1 && msg[1] == 4, "header: version 1, alg id 4, 30 bytes");
  CHECK(msg[2] == 0xde && msg[3] == 0xad && msg[4] == 0xbe && msg[5] == 0xef, "header: key id big-endian");
  CHECK(memcmp(msg + 6, nonce, 24) == 0, "header: nonce follows key id");
  CHECK(tsr_message_header_len(TSR_AEAD_AES256GCM) == 18 && tsr_message_header_len(TSR_AEAD_CHACHA20POLY1305) == 18 &&
            tsr_message_header_len(TSR_AEAD_XCHACHA20POLY1305) == 30,
        "header lengths: 6 + nonce");
}

static void test_seal_open(tsr_aead_alg alg) {
  uint8_t key[32], pt[300], aad[20], msg[400], out[400], ref[400];
  tsr_test_rnd(key, sizeof key);
  tsr_test_rnd(pt, sizeof pt);
  tsr_test_rnd(aad, sizeof aad);
  tsr_status st;
  tsr_aead_ctx *ctx = tsr_aead_ctx_new(alg, key, &st);
  CHECK(ctx != NULL, "context");
  if (!ctx) return;
  tsr_nonce_pool *pool = tsr_nonce_pool_new();
  size_t h = tsr_message_header_len(alg), n = 0, got = 0;
  CHECK(tsr_message_seal(ctx, pool, 77, msg, sizeof msg, pt, sizeof pt, aad, sizeof aad, &n) == TSR_OK &&
            n == h + sizeof pt + 16,
        "seal: header + ciphertext + tag");
  CHECK(msg[0] == 1 && msg[1] == alg && msg[5] == 77, "seal: header fields");
  /* The same bytes by hand: header || caller's aad is the associated data. */
  CHECK(tsr_aead_seal(ctx, ref, msg + 6, pt, sizeof pt, msg, h, aad, sizeof aad) == TSR_OK &&
            memcmp(ref, msg + h, sizeof pt + 16) == 0,
        "seal: equals tsr_aead_seal with the header as aad1");
  CHECK(tsr_message_open(ctx, out, sizeof out, msg, n, aad, sizeof aad, &got) == TSR_OK && got == sizeof pt &&
            memcmp(out, pt, sizeof pt) == 0,
        "open: round trip");
  int refused = 1;
  for (size_t i = 0; i < n; i++) {
    msg[i] ^= 0x01;
    memset(out, 0x55, sizeof out);
    if (tsr_message_open(ctx, out, sizeof out, msg, n, aad, sizeof aad, &got) != TSR_ERR_AUTH || got != 0) refused = 0;
    for (size_t j = 0; j < sizeof pt; j++) refused &= out[j] == 0;
    msg[i] ^= 0x01;
  }
  CHECK(refused, "open: a flipped bit anywhere (header included) is ERR_AUTH, output zeroed");
  CHECK(tsr_message_open(ctx, out, sizeof out, msg, h + 15, aad, sizeof aad, &got) == TSR_ERR_FORMAT,
        "open: shorter than header + tag is ERR_FORMAT");
  CHECK(tsr_message_open(ctx, out, sizeof pt - 1, msg, n, aad, sizeof aad, &got) == TSR_ERR_ARGUMENT,
        "open: a short output is ERR_ARGUMENT");
  CHECK(tsr_message_seal(ctx, pool, 0, msg, h + sizeof pt + 15, pt, sizeof pt, NULL, 0, &got) == TSR_ERR_ARGUMENT,
        "seal: a short output is ERR_ARGUMENT");
  /* In place: plaintext where the ciphertext goes. */
  memcpy(msg + h, pt, sizeof pt);
  CHECK(tsr_message_seal(ctx, pool, 1, msg, sizeof msg, msg + h, sizeof pt, NULL, 0, &n) == TSR_OK &&
            tsr_message_open(ctx, msg + h, sizeof pt, msg, n, NULL, 0, &got) == TSR_OK &&
            memcmp(msg + h, pt, sizeof pt) == 0,
        "seal and open in place");
  tsr_nonce_pool_free(pool);
  tsr_aead_ctx_free(ctx);
}

static void test_batch(void) {
  enum { N = 40 };
  uint8_t key[32], data[N][50], *in[N], sealed[N * 100], opened[N * 100];
  size_t len[N], off[N + 1], off2[N + 1], failed = 0;
  const uint8_t *cin[N];
  tsr_test_rnd(key, sizeof key);
  tsr_status st;
  tsr_aead_ctx *ctx = tsr_aead_ctx_new(TSR_AEAD_CHACHA20POLY1305, key, &st);
  tsr_nonce_pool *pool = tsr_nonce_pool_new();
  for (int i = 0; i < N; i++) {
    len[i] = (size_t)i; /* 0..39 bytes */
    tsr_test_rnd(data[i], sizeof data[i]);
    in[i] = data[i];
    cin[i] = data[i];
  }
  CHECK(tsr_message_batch_layout(TSR_AEAD_CHACHA20POLY1305, 1, len, N, off) == TSR_OK && off[N] == N * 34 + 780,
        "batch layout: seal sizes");
  tsr_message_batch b = {cin, len, N, sealed, off, (const uint8_t *)"ad", 2};
  CHECK(tsr_message_batch_headers(&b, TSR_AEAD_CHACHA20POLY1305, 9, pool) == TSR_OK &&
            tsr_message_batch_run(ctx, &b, 1, 0, N, &failed) == TSR_OK,
        "batch seal");
  int nonces_differ = memcmp(sealed + off[0] + 6, sealed + off[1] + 6, 12) != 0;
  CHECK(nonces_differ, "batch seal: fresh nonce per message");
  const uint8_t *min[N];
  size_t mlen[N];
  for (int i = 0; i < N; i++) {
    min[i] = sealed + off[i];
    mlen[i] = off[i + 1] - off[i];
  }
  CHECK(tsr_message_batch_layout(TSR_AEAD_CHACHA20POLY1305, 0, mlen, N, off2) == TSR_OK && off2[N] == 780,
        "batch layout: open sizes");
  tsr_message_batch o = {min, mlen, N, opened, off2, (const uint8_t *)"ad", 2};
  int same = tsr_message_batch_run(ctx, &o, 0, 0, N, &failed) == TSR_OK;
  for (int i = 0; i < N && same; i++) same = memcmp(opened + off2[i], data[i], len[i]) == 0;
  CHECK(same, "batch open: round trip");
  sealed[off[17] + 20] ^= 1;
  CHECK(tsr_message_batch_run(ctx, &o, 0, 0, N, &failed) == TSR_ERR_AUTH && failed == 17,
        "batch open: the failing index is reported");
  size_t huge[2] = {5, SIZE_MAX - 10}, hoff[3];
  CHECK(tsr_message_batch_layout(TSR_AEAD_CHACHA20POLY1305, 1, huge, 2, hoff) == TSR_ERR_ARGUMENT,
        "batch layout: a seal length that would wrap size_t is ERR_ARGUMENT");
  mlen[3] = 33;
  CHECK(tsr_message_batch_layout(TSR_AEAD_CHACHA20POLY1305, 0, mlen, N, off2) == TSR_ERR_FORMAT,
        "batch layout: an open input shorter than header + tag is ERR_FORMAT");
  (void)in;
  tsr_nonce_pool_free(pool);
  tsr_aead_ctx_free(ctx);
}

static void test_nonce_pool(void) {
  tsr_nonce_pool *pool = tsr_nonce_pool_new();
  CHECK(pool != NULL, "nonce pool: made where secure memory wipes on fork, also as the first allocation");
  /* 1000 draws of 24 bytes cross several refills; no two equal. */
  static uint8_t seen[1000][24];
  int distinct = 1;
  for (int i = 0; i < 1000; i++) {
    if (tsr_nonce_take(pool, seen[i], 24) != TSR_OK) distinct = 0;
    for (int j = 0; j < i && distinct; j += 97) distinct = memcmp(seen[i], seen[j], 24) != 0;
  }
  CHECK(distinct, "nonce pool: draws across refills are distinct");
  uint8_t a[12], b[12];
  CHECK(tsr_nonce_take(NULL, a, 12) == TSR_OK && tsr_nonce_take(NULL, b, 12) == TSR_OK && memcmp(a, b, 12) != 0,
        "no pool: nonces straight from the CSPRNG");
  tsr_nonce_pool_free(pool);
}

int main(void) {
  tsr_test_seed(0x6d657373616765ull);
  /* First, before anything else allocates secure memory: the addon makes its
   * pool when it loads, with no arena yet. */
  test_nonce_pool();
  test_header();
  for (size_t i = 0; i < sizeof ALGS / sizeof ALGS[0]; i++) test_seal_open(ALGS[i]);
  test_batch();
  return tsr_test_done();
}
