#include "tsr_chunked_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../util/tsr_util.h"
#include "tsr_chunked_pool.h"
#include "tsr_pool.h"

#define BATCH_PT ((size_t)TSR_CHUNKED_FILE_BATCH * TSR_CHUNK_PT)
#define BATCH_CT ((size_t)TSR_CHUNKED_FILE_BATCH * TSR_CHUNK_CT)
#define UNKNOWN  UINT64_MAX

typedef struct {
  uint64_t batch;
  size_t inlen, outlen;
  int last;
  size_t plain; /* plaintext bytes this slot has held (wiped at the end) */
} slot;

/* One step of the pipeline: write batch s - 2, seal/open batch s - 1, read
 * batch s. Tasks: [write] [read] then the AEAD in TSR_CHUNKED_BATCH-chunk
 * pieces, as tsr_chunked_pool cuts a run. */
typedef struct {
  tsr_chunked_file_job *job;
  slot *w, *r, *c;
  size_t nio, ntasks;
  uint64_t c_chunks;
  /* Results: I/O errors per task; for the AEAD the failure earliest in
   * stream order, so the error does not depend on which core finished first. */
  int w_err, r_err;
  size_t r_got;
  pthread_mutex_t lock;
  int c_failed;
  size_t c_fail_task;
  tsr_status c_status;
} step_t;

size_t tsr_chunked_file_slot_bytes(void) {
  return BATCH_PT + BATCH_CT;
}

/* The input batch first, then its output: seal 4 MiB | 4 MiB + 4 KiB, open the reverse. */
static uint8_t *in_buf(const tsr_chunked_file_job *j, const slot *s) {
  return j->mem + (size_t)(s->batch % TSR_CHUNKED_FILE_SLOTS) * tsr_chunked_file_slot_bytes();
}
static uint8_t *out_buf(const tsr_chunked_file_job *j, const slot *s) {
  return in_buf(j, s) + (j->seal ? BATCH_PT : BATCH_CT);
}

/* open: the batches of a chunk stream of in_len bytes (valid: the caller
 * checked it). The last one holds the final chunk. */
static uint64_t open_batches(uint64_t in_len) {
  uint64_t pt = 0;
  if (tsr_chunked_opened_len(in_len, &pt) != TSR_OK) return 1;
  return pt / TSR_CHUNK_PT / TSR_CHUNKED_FILE_BATCH + 1;
}

/* Full positional reads and writes: short counts are retried, EINTR too. */
static int read_full(int fd, uint8_t *buf, size_t len, uint64_t off, size_t *got) {
  size_t n = 0;
  while (n < len) {
    ssize_t r = pread(fd, buf + n, len - n, (off_t)(off + n));
    if (r < 0) {
      if (errno == EINTR) continue;
      *got = n;
      return errno;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  *got = n;
  return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t len, uint64_t off) {
  size_t n = 0;
  while (n < len) {
    ssize_t r = pwrite(fd, buf + n, len - n, (off_t)(off + n));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return EIO; /* no progress and no error: never spin */
    n += (size_t)r;
  }
  return 0;
}

static void task(void *arg, size_t t, unsigned participant) {
  step_t *st = (step_t *)arg;
  tsr_chunked_file_job *j = st->job;
  if (t < st->nio) {
    if (st->w && t == 0) {
      slot *s = st->w;
      st->w_err =
          write_full(j->out_fd, out_buf(j, s), s->outlen, j->out_off + s->batch * (j->seal ? BATCH_CT : BATCH_PT));
    } else {
      slot *s = st->r;
      size_t want = j->seal ? BATCH_PT : s->inlen; /* seal: read to the end; a short batch is the final one */
      st->r_err =
          read_full(j->in_fd, in_buf(j, s), want, j->in_off + s->batch * (j->seal ? BATCH_PT : BATCH_CT), &st->r_got);
    }
    return;
  }
  if (__atomic_load_n(&st->c_failed, __ATOMIC_RELAXED)) return; /* this batch is never written */
  size_t i = t - st->nio;
  slot *s = st->c;
  size_t in_chunk = j->seal ? TSR_CHUNK_PT : TSR_CHUNK_CT, out_chunk = j->seal ? TSR_CHUNK_CT : TSR_CHUNK_PT;
  size_t first = i * TSR_CHUNKED_BATCH, off = first * in_chunk;
  int last = t + 1 == st->ntasks;
  size_t len = last ? s->inlen - off : (size_t)TSR_CHUNKED_BATCH * in_chunk;
  uint64_t counter = s->batch * TSR_CHUNKED_FILE_BATCH + first;
  size_t ignored;
  tsr_status rc = j->seal ? tsr_chunked_seal(j->ctxs[participant], j->base_nonce, counter, in_buf(j, s) + off, len,
                                             last && s->last, out_buf(j, s) + first * out_chunk)
                          : tsr_chunked_open(j->ctxs[participant], j->base_nonce, counter, in_buf(j, s) + off, len,
                                             last && s->last, out_buf(j, s) + first * out_chunk, &ignored);
  if (rc != TSR_OK) {
    pthread_mutex_lock(&st->lock);
    if (!st->c_failed || i < st->c_fail_task) {
      st->c_fail_task = i;
      st->c_status = rc;
    }
    __atomic_store_n(&st->c_failed, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&st->lock);
  }
}

static int cancelled(const tsr_chunked_file_job *j) {
  return j->cancel && __atomic_load_n(j->cancel, __ATOMIC_ACQUIRE);
}

/* Step s: write batch s - 2, seal/open batch s - 1, read batch s (whichever
 * exist), as one fork-join job on the pool. Each step is a separate pool job,
 * so between batches the workers serve other callers' jobs too. */
tsr_chunked_file_result tsr_chunked_file_run(tsr_chunked_file_job *j) {
  slot slots[TSR_CHUNKED_FILE_SLOTS];
  memset(slots, 0, sizeof slots);
  uint64_t batches = j->seal ? UNKNOWN : open_batches(j->in_len);
  tsr_chunked_file_result result = TSR_CHUNKED_FILE_OK;
  j->status = TSR_OK;
  j->err = 0;
  j->in_done = j->out_done = 0;
  /* The kernel's read-ahead window grows for sequential readers. */
  (void)posix_fadvise(j->in_fd, (off_t)j->in_off, 0, POSIX_FADV_SEQUENTIAL);
  step_t st;
  memset(&st, 0, sizeof st);
  pthread_mutex_init(&st.lock, NULL);
  for (uint64_t s = 0;; s++) {
    slot *w = s >= 2 && s - 2 < batches ? &slots[(s - 2) % TSR_CHUNKED_FILE_SLOTS] : NULL;
    slot *c = s >= 1 && s - 1 < batches ? &slots[(s - 1) % TSR_CHUNKED_FILE_SLOTS] : NULL;
    slot *r = s < batches ? &slots[s % TSR_CHUNKED_FILE_SLOTS] : NULL;
    if (!w && !c && !r) break;
    if (cancelled(j)) {
      result = TSR_CHUNKED_FILE_CANCELLED;
      break;
    }
    st.job = j;
    st.w = w;
    st.r = r;
    st.c = c;
    st.nio = (w != NULL) + (r != NULL);
    st.w_err = st.r_err = 0;
    st.r_got = 0;
    st.c_failed = 0;
    st.c_status = TSR_OK;
    if (r) {
      r->batch = s;
      r->last = !j->seal && s + 1 == batches;
      r->inlen = j->seal ? BATCH_PT : r->last ? (size_t)(j->in_len - s * BATCH_CT) : BATCH_CT;
    }
    st.ntasks = st.nio;
    if (c) {
      tsr_chunked_shape shape;
      tsr_status rc = tsr_chunked_run_shape(j->seal, c->inlen, c->last, &shape);
      if (rc != TSR_OK) { /* cannot happen for the lengths above; never run the AEAD on it */
        j->status = rc;
        result = TSR_CHUNKED_FILE_CRYPTO;
        break;
      }
      c->outlen = (size_t)shape.outlen;
      if (!j->seal && c->outlen > c->plain) c->plain = c->outlen;
      st.ntasks += tsr_chunked_pool_tasks(shape.chunks);
    }
    /* `width` pool workers (participants 0 .. width - 1) while this libuv
     * thread waits, as every async job does: the workers run below the event
     * loop's priority (tsr_pool.h), so `threads` is the number of threads
     * computing and the event loop keeps its core. */
    tsr_pool_run_background(task, &st, st.ntasks, j->width);
    if (r && j->seal && st.r_got > r->plain) r->plain = st.r_got;
    /* Failures in stream order: batch s - 2, then s - 1, then s. */
    if (w && st.w_err) {
      j->err = st.w_err;
      result = TSR_CHUNKED_FILE_WRITE;
      break;
    }
    if (c && st.c_failed) {
      j->status = st.c_status;
      result = TSR_CHUNKED_FILE_CRYPTO;
      break;
    }
    if (r && st.r_err) {
      j->err = st.r_err;
      result = TSR_CHUNKED_FILE_READ;
      break;
    }
    if (r && st.r_got < r->inlen) {
      if (!j->seal) {
        result = TSR_CHUNKED_FILE_SHRANK;
        break;
      }
      r->inlen = st.r_got;
      r->last = 1;
      batches = s + 1;
    }
    if (w) {
      j->in_done += w->inlen;
      j->out_done += w->outlen;
      if (j->progress) j->progress(j->progress_arg, j->in_done);
    }
  }
  pthread_mutex_destroy(&st.lock);
  /* Plaintext stays in the ring otherwise: seal inputs, open outputs (a
   * failed open already zeroed what it wrote; the rest is wiped here). */
  for (size_t i = 0; i < TSR_CHUNKED_FILE_SLOTS; i++) {
    uint8_t *p = j->mem + i * tsr_chunked_file_slot_bytes();
    tsr_memzero(j->seal ? p : p + BATCH_CT, slots[i].plain);
  }
  return result;
}
