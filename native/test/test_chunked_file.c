/* C tests of the Cobblestone file job (native/pool/tsr_chunked_file.c): with
 * the derived key and base nonce fixed, a sealed file is byte for byte what
 * tsr_chunked_seal makes of the same bytes in memory, and an opened one is the
 * plaintext, at sizes around the 4 MiB batch and with 1 and 2 workers. A
 * tampered chunk is TSR_ERR_AUTH; a cancel before the first step writes
 * nothing; an input shorter than its stated length is SHRANK; a bad fd is
 * READ / WRITE with EBADF. Files are unlinked temp files (tmpfile). */
#include <errno.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "../chunked/tsr_chunked.h"
#include "../pool/tsr_chunked_file.h"
#include "../pool/tsr_pool.h"
#include "tsr_test.h"

#define MIB (1u << 20)

static uint8_t g_key[32], g_base[12];
static tsr_aead_ctx *g_ctxs[3];
static uint8_t *g_mem;

static int file_with(const uint8_t *data, size_t n) {
  FILE *f = tmpfile();
  int fd = dup(fileno(f));
  fclose(f);
  size_t done = 0;
  while (done < n) {
    ssize_t w = pwrite(fd, data + done, n - done, (off_t)done);
    if (w <= 0) return -1;
    done += (size_t)w;
  }
  return fd;
}

static int contents_are(int fd, const uint8_t *want, size_t n) {
  if (lseek(fd, 0, SEEK_END) != (off_t)n) return 0;
  uint8_t *got = malloc(n + 1);
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, got + done, n - done, (off_t)done);
    if (r <= 0) break;
    done += (size_t)r;
  }
  int ok = done == n && memcmp(got, want, n) == 0;
  free(got);
  return ok;
}

static tsr_chunked_file_result run_at(int seal, int in, uint64_t in_off, uint64_t in_len, int out, uint64_t out_off,
                                      unsigned width, const int *cancel, tsr_chunked_file_job *j) {
  memset(j, 0, sizeof *j);
  j->seal = seal;
  j->in_fd = in;
  j->out_fd = out;
  j->in_off = in_off;
  j->in_len = in_len;
  j->out_off = out_off;
  j->ctxs = g_ctxs;
  j->base_nonce = g_base;
  j->width = width;
  j->mem = g_mem;
  j->cancel = cancel;
  return tsr_chunked_file_run(j);
}

static tsr_chunked_file_result run(int seal, int in, uint64_t in_off, uint64_t in_len, int out, unsigned width,
                                   const int *cancel, tsr_chunked_file_job *j) {
  return run_at(seal, in, in_off, in_len, out, 0, width, cancel, j);
}

static void test_round_trips(void) {
  static const size_t sizes[] = {0, 1, 16383, 16384, 16385, 4 * MIB - 1, 4 * MIB, 4 * MIB + 1, 12 * MIB + 16385};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    for (unsigned width = 1; width <= 2; width++) {
      size_t n = sizes[s], clen = (size_t)tsr_chunked_sealed_len(n);
      uint8_t *pt = malloc(n + 1), *ref = malloc(clen);
      RAND_bytes(pt, (int)n + 1);
      tsr_chunked_seal(g_ctxs[0], g_base, 0, pt, n, 1, ref);
      int in = file_with(pt, n), enc = file_with(NULL, 0), out = file_with(NULL, 0);
      tsr_chunked_file_job j;
      char name[160];
      int ok = run(1, in, 0, n, enc, width, NULL, &j) == TSR_CHUNKED_FILE_OK && j.in_done == n && j.out_done == clen;
      snprintf(name, sizeof name, "seal %zu bytes, width %u: the file is tsr_chunked_seal's output byte for byte", n,
               width);
      CHECK(ok && contents_are(enc, ref, clen), name);
      ok = run(0, enc, 0, clen, out, width, NULL, &j) == TSR_CHUNKED_FILE_OK && j.in_done == clen && j.out_done == n;
      snprintf(name, sizeof name, "open %zu bytes, width %u: the plaintext", n, width);
      CHECK(ok && contents_are(out, pt, n), name);
      close(in);
      close(enc);
      close(out);
      free(pt);
      free(ref);
    }
  }
}

static void test_failures(void) {
  size_t n = 9 * MIB + 5, clen = (size_t)tsr_chunked_sealed_len(n);
  uint8_t *pt = malloc(n), *ct = malloc(clen);
  RAND_bytes(pt, (int)n);
  tsr_chunked_seal(g_ctxs[0], g_base, 0, pt, n, 1, ct);
  tsr_chunked_file_job j;

  ct[300 * TSR_CHUNK_CT + 9] ^= 1; /* chunk 300: the second batch */
  int in = file_with(ct, clen), out = file_with(NULL, 0);
  CHECK(run(0, in, 0, clen, out, 2, NULL, &j) == TSR_CHUNKED_FILE_CRYPTO && j.status == TSR_ERR_AUTH,
        "open: a tampered chunk in the second batch is TSR_ERR_AUTH");
  CHECK(lseek(out, 0, SEEK_END) <= (off_t)(4 * MIB), "open: nothing past the verified first batch was written");
  close(in);
  close(out);
  ct[300 * TSR_CHUNK_CT + 9] ^= 1;

  int stop = 1;
  in = file_with(pt, n);
  out = file_with(NULL, 0);
  CHECK(run(1, in, 0, n, out, 1, &stop, &j) == TSR_CHUNKED_FILE_CANCELLED && lseek(out, 0, SEEK_END) == 0,
        "seal: cancelled before the first step writes nothing");
  close(in);
  close(out);

  in = file_with(ct, clen - 100); /* the file lost its last 100 bytes after its length was taken */
  out = file_with(NULL, 0);
  CHECK(run(0, in, 0, clen, out, 2, NULL, &j) == TSR_CHUNKED_FILE_SHRANK,
        "open: an input shorter than in_len is SHRANK");
  close(out);

  int ro = dup(in); /* opened read-write by tmpfile, so: a closed fd for the read, /dev/null read-only for the write */
  close(ro);
  out = file_with(NULL, 0);
  CHECK(run(1, ro, 0, n, out, 1, NULL, &j) == TSR_CHUNKED_FILE_READ && j.err == EBADF,
        "seal: a bad input fd is READ / EBADF");
  FILE *dn = fopen("/dev/null", "r");
  CHECK(run(1, in, 0, 0, fileno(dn), 1, NULL, &j) == TSR_CHUNKED_FILE_WRITE && j.err == EBADF,
        "seal: a read-only output fd is WRITE / EBADF");
  fclose(dn);
  close(in);
  close(out);

  /* The header offsets: input after 56 bytes, output after 10. */
  uint8_t *shifted = malloc(clen + 56);
  memset(shifted, 0xee, 56);
  memcpy(shifted + 56, ct, clen);
  in = file_with(shifted, clen + 56);
  out = file_with((const uint8_t *)"0123456789", 10);
  tsr_chunked_file_result r = run_at(0, in, 56, clen, out, 10, 2, NULL, &j);
  uint8_t *want = malloc(n + 10);
  memcpy(want, "0123456789", 10);
  memcpy(want + 10, pt, n);
  CHECK(r == TSR_CHUNKED_FILE_OK && contents_are(out, want, n + 10),
        "open: in_off and out_off place the stream and the output");
  close(in);
  close(out);
  free(want);
  free(shifted);
  free(pt);
  free(ct);
}

int main(void) {
  RAND_bytes(g_key, 32);
  RAND_bytes(g_base, 12);
  tsr_status st;
  for (int i = 0; i < 3; i++) g_ctxs[i] = tsr_aead_ctx_new(TSR_AEAD_AES256GCM, g_key, &st);
  g_mem = malloc(TSR_CHUNKED_FILE_SLOTS * tsr_chunked_file_slot_bytes());
  tsr_pool_set_size(2);
  test_round_trips();
  test_failures();
  for (int i = 0; i < 3; i++) tsr_aead_ctx_free(g_ctxs[i]);
  free(g_mem);
  return tsr_test_done();
}
