/*
 * tsr_secmem: pooled secure allocator for key material. See tsr_secmem.h.
 *
 * Layout of an arena (one mmap):
 *   [guard page, PROT_NONE][data area: bitmap-managed 16-byte units][guard page]
 * Layout of one allocation inside the data area:
 *   [header: canary u64 | size u32 | units u32][user data, n bytes][pad][trailer 16]
 * The pad (n rounded up to 16) and the trailer are filled with canary bytes, so
 * even a one-byte overflow past n is caught on free.
 *
 * Arena metadata (list links, bitmap) lives in the ordinary heap, so an
 * overflow of a key buffer cannot corrupt allocator state.
 * Invariant: every free unit of every arena is zero (fresh mappings are zero,
 * and blocks are zeroized on free).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MAP_ANONYMOUS, madvise flags, syscall(), explicit_bzero */
#endif

#include "tsr_secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/random.h>
#include <sys/syscall.h>
#if defined(SYS_memfd_secret)
#define TSR_NR_MEMFD_SECRET SYS_memfd_secret
#elif defined(__x86_64__) || defined(__aarch64__)
#define TSR_NR_MEMFD_SECRET 447 /* older libc headers lack the constant */
#endif
#endif

#define TSR_UNIT          16u
#define TSR_HDR           16u
#define TSR_TRAILER       16u
#define TSR_MAX_ALLOC     ((size_t)1 << 20)
#define TSR_DEFAULT_PAGES 16u

typedef struct tsr_arena {
  struct tsr_arena *next;
  uint8_t *base;     /* start of the mapping (leading guard page) */
  size_t map_len;    /* whole mapping, guard pages included */
  uint8_t *data;     /* first byte of the data area */
  size_t data_len;   /* multiple of the page size */
  size_t units;      /* data_len / TSR_UNIT; a multiple of 64 */
  size_t used_units; /* lets a full arena be skipped without scanning */
  size_t live;       /* live allocations */
  int locked, secret, dont_dump, wipe_on_fork;
  int relock;        /* fork child: was locked in the parent, lock again */
  uint64_t bitmap[]; /* 1 bit per unit, 1 = in use */
} tsr_arena;

/* All state below is guarded by tsr_lock. */
static pthread_mutex_t tsr_lock = PTHREAD_MUTEX_INITIALIZER;
static int tsr_ready;
static int tsr_strict;     /* TESSERA_SECMEM_STRICT=1 */
static int tsr_use_secret; /* TESSERA_SECMEM=memfd_secret and kernel has it */
static size_t tsr_page;
static uint64_t tsr_secret;
static tsr_arena *tsr_arenas;
static uint64_t tsr_allocations, tsr_mlock_failures;

static void tsr_secmem_die(const char *msg) {
  /* Fixed text only: never print addresses or contents near key material. */
  fprintf(stderr, "tsr_secmem: %s\n", msg);
  abort();
}

/* Zeroize in a way the compiler may not elide as a dead store. */
static void tsr_secmem_zeroize(void *p, size_t n) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
  explicit_bzero(p, n);
#else
  volatile uint8_t *v = (volatile uint8_t *)p;
  while (n--) *v++ = 0;
#endif
}

static int tsr_secmem_read_urandom(uint8_t *p, size_t n) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r > 0)
      p += r, n -= (size_t)r;
    else if (r == 0 || errno != EINTR)
      break;
  }
  close(fd);
  return n == 0 ? 0 : -1;
}

static void tsr_secmem_random(uint8_t *buf, size_t n) {
#if defined(__linux__)
  ssize_t r;
  do r = getrandom(buf, n, 0);
  while (r < 0 && errno == EINTR);
  if (r == (ssize_t)n) return; /* else ENOSYS (old kernel) or seccomp: try the device */
#endif
  if (tsr_secmem_read_urandom(buf, n) != 0)
    tsr_secmem_die("no randomness for canaries (getrandom and /dev/urandom failed)");
}

/* fork(): hold the lock across it so the child never inherits it held by a
 * thread that does not exist there. In the child, anonymous arenas stay
 * mapped but read as zero (WIPEONFORK; callers rely on that), and are no
 * longer locked (mlock is not inherited): they are re-locked on first use.
 * memfd_secret arenas are absent (DONTFORK), so they are dropped. */
static void tsr_secmem_atfork_lock(void) {
  pthread_mutex_lock(&tsr_lock);
}
static void tsr_secmem_atfork_unlock(void) {
  pthread_mutex_unlock(&tsr_lock);
}
static void tsr_secmem_atfork_child(void) {
  tsr_arena **link = &tsr_arenas;
  while (*link != NULL) {
    tsr_arena *a = *link;
    if (a->secret) {
      *link = a->next;
      tsr_allocations -= a->live;
      munmap(a->base, a->map_len); /* just the guard reservation by now */
      free(a);
    } else {
      a->relock = a->locked;
      a->locked = 0;
      link = &a->next;
    }
  }
  pthread_mutex_unlock(&tsr_lock);
}

static void tsr_secmem_init_locked(void) {
  if (tsr_ready) return;
  long pg = sysconf(_SC_PAGESIZE);
  tsr_page = pg > 0 ? (size_t)pg : 4096;
  uint8_t rnd[8];
  tsr_secmem_random(rnd, sizeof rnd);
  memcpy(&tsr_secret, rnd, sizeof rnd);
  /* Canary words are secret ^ (8-aligned address), so forcing bit 0 makes
   * every canary word odd: zeroized memory never validates. */
  tsr_secret |= 1;
  const char *s = getenv("TESSERA_SECMEM_STRICT");
  tsr_strict = s != NULL && strcmp(s, "1") == 0;
  const char *m = getenv("TESSERA_SECMEM");
  tsr_use_secret = m != NULL && strcmp(m, "memfd_secret") == 0;
  pthread_atfork(tsr_secmem_atfork_lock, tsr_secmem_atfork_unlock, tsr_secmem_atfork_child);
  tsr_ready = 1;
}

/* Canary byte stream keyed by address: the byte at address a is byte (a & 7)
 * of the word secret ^ (a & ~7). Binding to the address means a block copied
 * elsewhere (or a header replayed at another spot) does not validate. */
static uint8_t tsr_secmem_canary_byte(uintptr_t a) {
  uint64_t w = tsr_secret ^ (uint64_t)(a & ~(uintptr_t)7);
  return (uint8_t)(w >> (8 * (a & 7)));
}

static void tsr_secmem_canary_fill(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = tsr_secmem_canary_byte((uintptr_t)(p + i));
}

/* Returns nonzero on mismatch; no early exit, so timing says nothing about
 * where (or whether) the canary differs. */
static uint8_t tsr_secmem_canary_diff(const uint8_t *p, size_t n) {
  uint8_t d = 0;
  for (size_t i = 0; i < n; i++) d |= p[i] ^ tsr_secmem_canary_byte((uintptr_t)(p + i));
  return d;
}

static int tsr_secmem_bit(const tsr_arena *a, size_t i) {
  return (int)((a->bitmap[i / 64] >> (i % 64)) & 1u);
}

static void tsr_secmem_mark(tsr_arena *a, size_t first, size_t count, int used) {
  for (size_t i = first; i < first + count; i++) {
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (used)
      a->bitmap[i / 64] |= bit;
    else
      a->bitmap[i / 64] &= ~bit;
  }
}

/* First fit: index of the first run of `need` free units, or SIZE_MAX. */
static size_t tsr_secmem_find_run(const tsr_arena *a, size_t need) {
  size_t run = 0, start = 0, i = 0;
  if (a->units - a->used_units < need) return SIZE_MAX;
  while (i < a->units) {
    if (run == 0 && i % 64 == 0 && a->bitmap[i / 64] == UINT64_MAX) {
      i += 64; /* skip full words quickly */
      continue;
    }
    if (tsr_secmem_bit(a, i)) {
      run = 0;
    } else {
      if (run++ == 0) start = i;
      if (run == need) return start;
    }
    i++;
  }
  return SIZE_MAX;
}

/* Maps the data area from memfd_secret(2) at data (inside a PROT_NONE
 * reservation). Returns 0, or -1 with errno (ENOSYS = not available). */
static int tsr_secmem_map_secret(uint8_t *data, size_t len) {
#if defined(TSR_NR_MEMFD_SECRET)
  int fd = (int)syscall(TSR_NR_MEMFD_SECRET, O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = ftruncate(fd, (off_t)len) == 0 &&
                   mmap(data, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED
               ? 0
               : -1;
  int e = errno;
  close(fd); /* the mapping keeps the secretmem file alive */
  errno = e;
  return rc;
#else
  (void)data, (void)len;
  errno = ENOSYS;
  return -1;
#endif
}

static void tsr_secmem_unmap(tsr_arena *a) {
  tsr_secmem_zeroize(a->data, a->data_len);
  if (a->locked && !a->secret) munlock(a->data, a->data_len);
  munmap(a->base, a->map_len);
  free(a);
}

static tsr_arena *tsr_secmem_new_arena(size_t need_units) {
  size_t pg = tsr_page;
  size_t data_len = (size_t)TSR_DEFAULT_PAGES * pg;
  size_t need = (need_units * TSR_UNIT + pg - 1) / pg * pg;
  if (need > data_len) data_len = need;
  size_t units = data_len / TSR_UNIT;
  tsr_arena *a = calloc(1, sizeof *a + (units + 63) / 64 * sizeof(uint64_t));
  if (a == NULL) return NULL;
  a->map_len = data_len + 2 * pg;
  a->data_len = data_len;
  a->units = units;

  /* memfd_secret: reserve the whole span PROT_NONE (that gives the guard
   * pages), then place the secretmem data area over its middle. */
  int secret = tsr_use_secret;
  void *base = mmap(NULL, a->map_len, secret ? PROT_NONE : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) goto fail;
  a->base = base;
  a->data = a->base + pg;
  a->secret = secret;
  if (secret && tsr_secmem_map_secret(a->data, data_len) != 0) {
    if (errno == EAGAIN) {
      /* Over RLIMIT_MEMLOCK (secretmem is charged to it). Unlike mlock we
       * cannot degrade to unlocked memory without silently dropping the
       * protection the caller opted in to, so this allocation fails. */
      tsr_mlock_failures++;
      errno = ENOMEM;
    }
    if (errno != ENOSYS) goto fail;
    /* Kernel without secretmem (or disabled): fall back to anonymous
     * arenas for good; stats then report memfd_secret = 0. */
    munmap(a->base, a->map_len);
    free(a);
    tsr_use_secret = 0;
    return tsr_secmem_new_arena(need_units);
  }
  if (!secret && (mprotect(a->base, pg, PROT_NONE) != 0 || mprotect(a->data + data_len, pg, PROT_NONE) != 0)) goto fail;

  if (secret) {
    a->locked = 1; /* secretmem pages are unevictable and charged to memlock */
  } else if (mlock(a->data, data_len) == 0) {
    a->locked = 1;
  } else {
    tsr_mlock_failures++;
    if (tsr_strict) {
      errno = ENOMEM;
      goto fail;
    }
  }
#if defined(MADV_DONTDUMP)
  a->dont_dump = madvise(a->data, data_len, MADV_DONTDUMP) == 0;
#endif
#if defined(MADV_DONTFORK)
  /* WIPEONFORK is for private anonymous memory only; a shared secretmem
   * mapping would be inherited, so keep it out of children entirely. */
  if (secret) madvise(a->data, data_len, MADV_DONTFORK);
#endif
#if defined(MADV_WIPEONFORK)
  if (!secret) a->wipe_on_fork = madvise(a->data, data_len, MADV_WIPEONFORK) == 0;
#endif
  return a;

fail: {
  int e = errno;
  if (a->base != NULL) munmap(a->base, a->map_len);
  free(a);
  errno = e;
  return NULL;
}
}

/* Arena whose data area contains p, or NULL. Compared as integers because
 * relational comparison of unrelated pointers is undefined in C. */
static tsr_arena *tsr_secmem_find_arena(const void *p, tsr_arena **prev) {
  uintptr_t x = (uintptr_t)p;
  tsr_arena *before = NULL;
  for (tsr_arena *a = tsr_arenas; a != NULL; before = a, a = a->next) {
    uintptr_t lo = (uintptr_t)a->data;
    if (x >= lo && x - lo < a->data_len) {
      if (prev != NULL) *prev = before;
      return a;
    }
  }
  return NULL;
}

/* Validates the block whose user pointer is p; aborts on any damage.
 * Returns its header and sets *first to its first unit. */
static uint8_t *tsr_secmem_check(tsr_arena *a, const void *p, size_t *first) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)a->data;
  if (off < TSR_HDR || off % TSR_UNIT != 0 || !tsr_secmem_bit(a, off / TSR_UNIT - 1))
    tsr_secmem_die("free of a pointer it did not return (double free or wild pointer)");
  uint8_t *hdr = a->data + off - TSR_HDR;
  uint32_t size, units;
  memcpy(&size, hdr + 8, 4);
  memcpy(&units, hdr + 12, 4);
  uint8_t bad = tsr_secmem_canary_diff(hdr, 8);
  size_t pad = (size + TSR_UNIT - 1) / TSR_UNIT * TSR_UNIT;
  /* Only trust size/units (to locate the trailer) if they are consistent. */
  if (size == 0 || size > TSR_MAX_ALLOC || units != (TSR_HDR + pad + TSR_TRAILER) / TSR_UNIT ||
      off / TSR_UNIT - 1 + units > a->units)
    bad |= 1;
  else
    bad |= tsr_secmem_canary_diff(hdr + TSR_HDR + size, pad - size + TSR_TRAILER);
  if (bad) tsr_secmem_die("canary mismatch: buffer overflow or double free, aborting");
  *first = off / TSR_UNIT - 1;
  return hdr;
}

void *tsr_secmem_alloc(size_t n) {
  if (n == 0 || n > TSR_MAX_ALLOC) {
    errno = EINVAL;
    return NULL;
  }
  size_t pad = (n + TSR_UNIT - 1) / TSR_UNIT * TSR_UNIT;
  size_t units = (TSR_HDR + pad + TSR_TRAILER) / TSR_UNIT;

  pthread_mutex_lock(&tsr_lock);
  tsr_secmem_init_locked();
  tsr_arena *a, *last = NULL;
  size_t first = SIZE_MAX;
  for (a = tsr_arenas; a != NULL; last = a, a = a->next) {
    if (a->relock) { /* once per arena, in a fork child */
      a->relock = 0;
      if (mlock(a->data, a->data_len) == 0)
        a->locked = 1;
      else
        tsr_mlock_failures++;
    }
    if (tsr_strict && !a->locked) continue; /* strict: locked memory only */
    if ((first = tsr_secmem_find_run(a, units)) != SIZE_MAX) break;
  }
  if (a == NULL) {
    if ((a = tsr_secmem_new_arena(units)) == NULL) {
      int e = errno;
      pthread_mutex_unlock(&tsr_lock);
      errno = e;
      return NULL;
    }
    /* Append: older arenas are filled first, so newer ones tend to empty
     * and be returned to the kernel. */
    if (last != NULL)
      last->next = a;
    else
      tsr_arenas = a;
    first = 0;
  }
  tsr_secmem_mark(a, first, units, 1);
  a->used_units += units;
  a->live++;
  tsr_allocations++;

  uint8_t *hdr = a->data + first * TSR_UNIT;
  uint32_t size32 = (uint32_t)n, units32 = (uint32_t)units;
  tsr_secmem_canary_fill(hdr, 8);
  memcpy(hdr + 8, &size32, 4);
  memcpy(hdr + 12, &units32, 4);
  /* Free units are already zero (see invariant); clear anyway so a bug
   * elsewhere can never hand out stale bytes. */
  memset(hdr + TSR_HDR, 0, n);
  tsr_secmem_canary_fill(hdr + TSR_HDR + n, pad - n + TSR_TRAILER);
  pthread_mutex_unlock(&tsr_lock);
  return hdr + TSR_HDR;
}

void tsr_secmem_free(void *p) {
  if (p == NULL) return;
  pthread_mutex_lock(&tsr_lock);
  tsr_arena *prev = NULL;
  tsr_arena *a = tsr_secmem_find_arena(p, &prev);
  if (a == NULL) tsr_secmem_die("free of a pointer it did not return (double free or wild pointer)");
  size_t first;
  uint8_t *hdr = tsr_secmem_check(a, p, &first);
  uint32_t units;
  memcpy(&units, hdr + 12, 4);
  tsr_secmem_zeroize(hdr, (size_t)units * TSR_UNIT);
  tsr_secmem_mark(a, first, units, 0);
  a->used_units -= units;
  a->live--;
  tsr_allocations--;
  /* Return an empty arena unless it is the last one: keeping one cached
   * avoids mmap/mlock churn for alloc/free loops. An oversized arena (one
   * big allocation) is not worth keeping locked, so it always goes. */
  int only = prev == NULL && a->next == NULL;
  if (a->live == 0 && (!only || a->data_len > (size_t)TSR_DEFAULT_PAGES * tsr_page)) {
    if (prev != NULL)
      prev->next = a->next;
    else
      tsr_arenas = a->next;
    tsr_secmem_unmap(a);
  }
  pthread_mutex_unlock(&tsr_lock);
}

size_t tsr_secmem_size(const void *p) {
  if (p == NULL) return 0;
  pthread_mutex_lock(&tsr_lock);
  tsr_arena *a = tsr_secmem_find_arena(p, NULL);
  if (a == NULL) tsr_secmem_die("size of a pointer it did not return");
  size_t first;
  uint32_t size;
  memcpy(&size, tsr_secmem_check(a, p, &first) + 8, 4);
  pthread_mutex_unlock(&tsr_lock);
  return size;
}

void tsr_secmem_stats_get(tsr_secmem_stats *out) {
  memset(out, 0, sizeof *out);
  struct rlimit rl;
  if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0)
    out->memlock_limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
  pthread_mutex_lock(&tsr_lock);
  /* The flags describe live arenas; with none they are 0 (nothing to
   * protect, and nothing has been verified yet). */
  int secret = 1, dump = 1, wipe = 1;
  for (tsr_arena *a = tsr_arenas; a != NULL; a = a->next) {
    out->arenas++;
    out->mapped_bytes += a->map_len;
    if (a->locked) out->locked_bytes += a->data_len;
    secret &= a->secret;
    dump &= a->dont_dump;
    wipe &= a->wipe_on_fork;
  }
  out->allocations = tsr_allocations;
  out->mlock_failures = tsr_mlock_failures;
  out->memfd_secret = out->arenas > 0 && secret;
  out->dont_dump = out->arenas > 0 && dump;
  out->wipe_on_fork = out->arenas > 0 && wipe;
  pthread_mutex_unlock(&tsr_lock);
}

#ifdef TSR_TEST_HOOKS
const volatile uint8_t *tsr_secmem_test_guard_after(const void *p) {
  pthread_mutex_lock(&tsr_lock);
  tsr_arena *a = tsr_secmem_find_arena(p, NULL);
  const volatile uint8_t *g = a != NULL ? a->data + a->data_len : NULL;
  pthread_mutex_unlock(&tsr_lock);
  return g;
}
#endif
