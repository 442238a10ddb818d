#include "tsr_chunked_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../core/tsr_util.h"
#include "tsr_pool.h"

#define BATCH_PT ((size_t)TSR_CHUNKED_FILE_BATCH * TSR_CHUNK_PT)
#define BATCH_CT ((size_t)TSR_CHUNKED_FILE_BATCH * TSR_CHUNK_CT)
#define MAX_SLOTS (TSR_POOL_MAX + 2u)
#define UNKNOWN UINT64_MAX

/* A slot's life: FREE -> READING -> READ -> CRYPT -> CRYPTED -> WRITING -> FREE. */
enum { FREE, READING, READ, CRYPT, CRYPTED, WRITING };

typedef struct {
  int state;
  uint64_t batch;
  size_t inlen, outlen;
  int last;
} slot;

typedef struct {
  tsr_chunked_file_job *job;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* any state change */
  slot slots[MAX_SLOTS];
  size_t nslots;
  uint64_t next_read, next_write;
  uint64_t batches; /* UNKNOWN until the batch holding the final chunk is known */
  int reading, writing;
  unsigned workers; /* pool workers inside the loop */
  int stop;
  uint64_t fail_batch; /* the failure earliest in stream order is reported */
  tsr_chunked_file_result result;
} pipe_t;

size_t tsr_chunked_file_slot_bytes(void) { return BATCH_PT + BATCH_CT; }

/* open: the number of batches of a chunk stream of in_len bytes. The last
 * batch holds the final chunk (and the full chunks before it in that batch). */
static uint64_t open_batches(uint64_t in_len) {
  uint64_t pt = 0;
  if (tsr_chunked_opened_len(in_len, &pt) != TSR_OK) return 1;
  return pt / TSR_CHUNK_PT / TSR_CHUNKED_FILE_BATCH + 1;
}

size_t tsr_chunked_file_slots(unsigned width, int seal, uint64_t in_len) {
  uint64_t batches = seal ? in_len / BATCH_PT + 1 : open_batches(in_len);
  uint64_t n = (uint64_t)width + 2;
  if (n > MAX_SLOTS) n = MAX_SLOTS;
  if (n > batches) n = batches;
  return n ? (size_t)n : 1;
}

static uint8_t *in_buf(pipe_t *q, const slot *s) { return q->job->mem + (size_t)(s - q->slots) * tsr_chunked_file_slot_bytes(); }
/* The input batch first, then the output: seal 4 MiB | 4 MiB + 4 KiB, open the reverse. */
static size_t in_cap(int seal) { return seal ? BATCH_PT : BATCH_CT; }
static uint8_t *out_buf(pipe_t *q, const slot *s) { return in_buf(q, s) + in_cap(q->job->seal); }

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

/* Under the lock. */
static void fail(pipe_t *q, tsr_chunked_file_result why, uint64_t batch, tsr_status st, int err) {
  if (!q->stop || batch < q->fail_batch) {
    q->fail_batch = batch;
    q->result = why;
    q->job->status = st;
    q->job->err = err;
  }
  q->stop = 1;
}

static int cancelled(const pipe_t *q) { return q->job->cancel && __atomic_load_n(q->job->cancel, __ATOMIC_ACQUIRE); }

static slot *slot_of(pipe_t *q, uint64_t batch) { return &q->slots[batch % q->nslots]; }

/* The steps a participant may take, under the lock; NULL if none now. */
static slot *can_write(pipe_t *q) {
  if (q->writing || q->next_write >= q->batches) return NULL;
  slot *s = slot_of(q, q->next_write);
  return s->state == CRYPTED && s->batch == q->next_write ? s : NULL;
}

static slot *can_read(pipe_t *q) {
  if (q->reading || q->next_read >= q->batches) return NULL;
  slot *s = slot_of(q, q->next_read);
  return s->state == FREE ? s : NULL;
}

static slot *can_crypt(pipe_t *q) {
  slot *best = NULL;
  for (size_t i = 0; i < q->nslots; i++)
    if (q->slots[i].state == READ && (!best || q->slots[i].batch < best->batch)) best = &q->slots[i];
  return best;
}

static void do_read(pipe_t *q, slot *s) {
  tsr_chunked_file_job *j = q->job;
  uint64_t b = s->batch;
  size_t want;
  int last;
  if (j->seal) {
    want = BATCH_PT; /* read to the end: a short batch is the final one */
    last = 0;
  } else {
    uint64_t start = b * BATCH_CT;
    last = b + 1 == q->batches;
    want = last ? (size_t)(j->in_len - start) : BATCH_CT;
  }
  size_t got = 0;
  int err = read_full(j->in_fd, in_buf(q, s), want, j->in_off + b * (j->seal ? BATCH_PT : BATCH_CT), &got);
  pthread_mutex_lock(&q->lock);
  q->reading = 0;
  if (err) fail(q, TSR_CHUNKED_FILE_READ, b, TSR_OK, err);
  else if (!j->seal && got < want) fail(q, TSR_CHUNKED_FILE_SHRANK, b, TSR_OK, 0);
  else {
    if (j->seal && got < want) {
      last = 1;
      q->batches = b + 1;
    }
    s->inlen = got;
    s->last = last;
    s->state = READ;
  }
  if (q->stop) s->state = FREE;
}

static void do_crypt(pipe_t *q, slot *s, unsigned participant) {
  tsr_chunked_file_job *j = q->job;
  uint64_t counter = s->batch * TSR_CHUNKED_FILE_BATCH;
  tsr_aead_ctx *ctx = j->ctxs[participant];
  size_t out = 0;
  tsr_status st = j->seal
      ? tsr_chunked_seal(ctx, j->base_nonce, counter, in_buf(q, s), s->inlen, s->last, out_buf(q, s))
      : tsr_chunked_open(ctx, j->base_nonce, counter, in_buf(q, s), s->inlen, s->last, out_buf(q, s), &out);
  if (j->seal && st == TSR_OK) {
    tsr_chunked_shape shape;
    tsr_chunked_run_shape(1, s->inlen, s->last, &shape);
    out = (size_t)shape.outlen;
  }
  pthread_mutex_lock(&q->lock);
  if (st != TSR_OK) fail(q, TSR_CHUNKED_FILE_CRYPTO, s->batch, st, 0);
  s->outlen = out;
  s->state = q->stop ? FREE : CRYPTED;
}

static void do_write(pipe_t *q, slot *s) {
  tsr_chunked_file_job *j = q->job;
  uint64_t b = s->batch;
  int err = write_full(j->out_fd, out_buf(q, s), s->outlen, j->out_off + b * (j->seal ? BATCH_CT : BATCH_PT));
  pthread_mutex_lock(&q->lock);
  q->writing = 0;
  s->state = FREE;
  if (err) {
    fail(q, TSR_CHUNKED_FILE_WRITE, b, TSR_OK, err);
    return;
  }
  q->next_write = b + 1;
  j->in_done += s->inlen;
  j->out_done += s->outlen;
  /* Under the lock, so reports arrive in order. */
  if (j->progress && !q->stop) j->progress(j->progress_arg, j->in_done);
}

enum { NONE, STEP_READ, STEP_CRYPT, STEP_WRITE };

/* The next step for participant `me`, under the lock. The caller
 * (participant 0, a libuv thread) keeps to the I/O and runs the AEAD only
 * while no worker is in the loop; workers (nice + 10, tsr_pool.c) take the
 * AEAD first and the I/O when no batch waits for them. Every participant can
 * take every step, so the job finishes whoever joins. */
static int pick(pipe_t *q, unsigned me, slot **s) {
  if (me == 0) {
    if ((*s = can_write(q)) != NULL) return STEP_WRITE;
    if ((*s = can_read(q)) != NULL) return STEP_READ;
    if (q->workers == 0 && (*s = can_crypt(q)) != NULL) return STEP_CRYPT;
    return NONE;
  }
  if ((*s = can_crypt(q)) != NULL) return STEP_CRYPT;
  if ((*s = can_write(q)) != NULL) return STEP_WRITE;
  if ((*s = can_read(q)) != NULL) return STEP_READ;
  return NONE;
}

static void participant(void *arg, size_t task, unsigned me) {
  (void)task;
  pipe_t *q = (pipe_t *)arg;
  pthread_mutex_lock(&q->lock);
  if (me) q->workers++;
  while (!q->stop && q->next_write < q->batches) {
    if (cancelled(q)) {
      fail(q, TSR_CHUNKED_FILE_CANCELLED, UNKNOWN, TSR_OK, 0);
      break;
    }
    slot *s = NULL;
    switch (pick(q, me, &s)) {
      case STEP_WRITE:
        q->writing = 1;
        s->state = WRITING;
        pthread_mutex_unlock(&q->lock);
        do_write(q, s);
        break;
      case STEP_READ:
        q->reading = 1;
        s->state = READING;
        s->batch = q->next_read++;
        pthread_mutex_unlock(&q->lock);
        do_read(q, s);
        break;
      case STEP_CRYPT:
        s->state = CRYPT;
        pthread_mutex_unlock(&q->lock);
        do_crypt(q, s, me);
        break;
      default:
        pthread_cond_wait(&q->cond, &q->lock);
        continue;
    }
    pthread_cond_broadcast(&q->cond); /* the do_* steps return with the lock held */
  }
  if (me) q->workers--;
  pthread_cond_broadcast(&q->cond);
  pthread_mutex_unlock(&q->lock);
}

tsr_chunked_file_result tsr_chunked_file_run(tsr_chunked_file_job *job) {
  pipe_t q;
  memset(&q, 0, sizeof q);
  q.job = job;
  q.nslots = job->slots < 1 ? 1 : job->slots > MAX_SLOTS ? MAX_SLOTS : job->slots;
  q.batches = job->seal ? UNKNOWN : open_batches(job->in_len);
  q.fail_batch = UNKNOWN;
  q.result = TSR_CHUNKED_FILE_OK;
  job->status = TSR_OK;
  job->err = 0;
  job->in_done = job->out_done = 0;
  pthread_mutex_init(&q.lock, NULL);
  pthread_cond_init(&q.cond, NULL);
  /* The kernel's read-ahead window grows for sequential readers. */
  (void)posix_fadvise(job->in_fd, (off_t)job->in_off, 0, POSIX_FADV_SEQUENTIAL);
  /* Tasks are whole participant loops: width + 1 of them, so the caller
   * (task 0 first) and each worker that joins run one loop each; a loop
   * claimed after the job finished returns at once. */
  tsr_pool_run(participant, &q, (size_t)job->width + 1, job->width + 1);
  pthread_cond_destroy(&q.cond);
  pthread_mutex_destroy(&q.lock);
  /* Plaintext stays in the ring otherwise: seal inputs, open outputs. */
  for (size_t i = 0; i < q.nslots; i++) {
    uint8_t *p = job->mem + i * tsr_chunked_file_slot_bytes();
    if (job->seal) tsr_memzero(p, BATCH_PT);
    else tsr_memzero(p + BATCH_CT, BATCH_PT);
  }
  return q.result;
}
