/*
 * Cobblestone files on the worker pool (c2sp.org/chunked-encryption): one
 * job reads the input with pread, seals or opens it batch by batch and
 * writes the output with pwrite, so no byte of the file passes through
 * JavaScript (lib/chunked/file.ts; docs/ARCHITECTURE.md "Files").
 *
 * The job is a pipeline of steps over a ring of three slots, each holding
 * one input batch and its output batch: step s writes batch s - 2, seals or
 * opens batch s - 1 (cut into TSR_CHUNKED_BATCH-chunk tasks, as
 * tsr_chunked_pool does) and reads batch s, all at once, as one fork-join
 * job on the pool (tsr_pool_run_background: up to `width` workers while
 * the calling thread waits). Reads and writes stay sequential and large (4 MiB pread /
 * pwrite), and between steps the workers go back to the pool, so other
 * callers' jobs are not held up for the length of a file. In-flight memory is
 * the ring: TSR_CHUNKED_FILE_SLOTS x ~8 MiB = 24 MiB per job, whatever width.
 *
 * Because the Cobblestone framing is fixed-size, batch b's input and output
 * offsets are known in advance, and a batch is written only after every chunk
 * in it was sealed or verified. The output is a temp file the caller deletes
 * on any failure (lib/chunked/io.ts atomicOutput).
 */
#ifndef TSR_CHUNKED_FILE_H
#define TSR_CHUNKED_FILE_H

#include "../chunked/tsr_chunked.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Chunks per batch: 256 x 16 KiB = 4 MiB, as lib/chunked/file.ts FILE_BATCH
 * (docs/ARCHITECTURE.md "Files"): large sequential reads and writes, and a
 * millisecond or so of AES-GCM per batch, so a cancel takes effect quickly. */
#define TSR_CHUNKED_FILE_BATCH 256u

typedef enum {
  TSR_CHUNKED_FILE_OK = 0,
  TSR_CHUNKED_FILE_CRYPTO = 1,   /* job->status: TSR_ERR_AUTH, TSR_ERR_LENGTH, TSR_ERR_NOMEM ... */
  TSR_CHUNKED_FILE_READ = 2,     /* job->err: errno of the failed pread */
  TSR_CHUNKED_FILE_WRITE = 3,    /* job->err: errno of the failed pwrite */
  TSR_CHUNKED_FILE_SHRANK = 4,   /* open: the input ended before in_len bytes */
  TSR_CHUNKED_FILE_CANCELLED = 5 /* *cancel was set; stopped before the next batch */
} tsr_chunked_file_result;

typedef struct {
  /* Set by the caller. */
  int seal;
  int in_fd, out_fd;
  uint64_t in_off; /* first byte of the plaintext (seal) or of chunk 0 (open) in the input */
  /* open: the chunk stream's length from in_off (a valid Cobblestone length;
   * the caller checked it with tsr_chunked_opened_len). seal: only a size
   * hint for the ring; the input is read to its end. */
  uint64_t in_len;
  uint64_t out_off;          /* where the output starts (after a header the caller wrote) */
  tsr_aead_ctx *const *ctxs; /* width + 1 contexts keyed with the derived key (width used) */
  const uint8_t *base_nonce;
  unsigned width;    /* pool workers wanted (the caller only waits) */
  uint8_t *mem;      /* TSR_CHUNKED_FILE_SLOTS * tsr_chunked_file_slot_bytes() bytes */
  const int *cancel; /* optional; read atomically before each step */
  /* Optional: input bytes consumed so far (a prefix of the input: batches
   * count once written), called on the calling thread between steps. */
  void (*progress)(void *arg, uint64_t in_bytes);
  void *progress_arg;
  /* Results. */
  tsr_status status; /* TSR_CHUNKED_FILE_CRYPTO */
  int err;           /* TSR_CHUNKED_FILE_READ / _WRITE */
  uint64_t in_done, out_done;
} tsr_chunked_file_job;

/* The ring: slots of an input and an output batch each (the same size in
 * both directions: 4 MiB of plaintext + 4 MiB + 4 KiB of ciphertext). */
#define TSR_CHUNKED_FILE_SLOTS 3u
size_t tsr_chunked_file_slot_bytes(void);

/* Runs the job on up to `width` pool workers (the caller waits). On any
 * failure, or once *cancel is set, it stops before its next step (one batch);
 * what was written is the caller's to delete. The failure reported is the
 * earliest in stream order. Plaintext left in mem is zeroed before returning. */
tsr_chunked_file_result tsr_chunked_file_run(tsr_chunked_file_job *job);

#ifdef __cplusplus
}
#endif
#endif
