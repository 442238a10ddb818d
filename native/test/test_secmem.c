/*
 * Standalone tests for native/secmem/tsr_secmem.c. TAP-style output; exits
 * nonzero if any check fails. Build (see native/secmem/tsr_secmem.h):
 *   gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Inative/secmem \
 *     native/secmem/tsr_secmem.c native/test/test_secmem.c -lpthread
 * Works under ASan/UBSan/TSan and with TESSERA_SECMEM=memfd_secret, as root
 * or not. Peak locked memory stays well below an 8 MiB RLIMIT_MEMLOCK.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "../secmem/tsr_secmem.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int test_count, test_failures;

static void ok(int cond, const char *desc) {
  test_count++;
  if (!cond) test_failures++;
  printf("%sok %d - %s\n", cond ? "" : "not ", test_count, desc);
  fflush(stdout);
}

static void skip(const char *desc, const char *why) {
  printf("ok %d - %s # SKIP %s\n", ++test_count, desc, why);
  fflush(stdout);
}

static int all_bytes(const volatile uint8_t *p, size_t n, uint8_t v) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != v) return 0;
  return 1;
}

static uint8_t pattern(size_t block, size_t i) {
  return (uint8_t)(block * 131 + i * 7 + 1);
}

/* Runs fn in a forked child and returns its wait status. The child's stderr
 * goes to /dev/null so expected abort messages do not clutter the TAP stream
 * (TEST_SECMEM_VERBOSE=1 keeps them). */
static int in_child(void (*fn)(void *), void *arg) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (!getenv("TEST_SECMEM_VERBOSE") && freopen("/dev/null", "w", stderr) == NULL) _exit(99);
    fn(arg);
    _exit(0);
  }
  int status = -1;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

static int died_by(int status, int sig) {
  return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig;
}
static int exited(int status, int code) {
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static void test_rejects(void) {
  errno = 0;
  ok(tsr_secmem_alloc(0) == NULL && errno == EINVAL, "n == 0 is rejected with EINVAL");
  errno = 0;
  ok(tsr_secmem_alloc((1u << 20) + 1) == NULL && errno == EINVAL, "n > 1 MiB is rejected with EINVAL");
  errno = 0;
  ok(tsr_secmem_alloc(SIZE_MAX) == NULL && errno == EINVAL, "n == SIZE_MAX is rejected with EINVAL");
  void *p = tsr_secmem_alloc(1u << 20);
  ok(p != NULL && tsr_secmem_size(p) == (1u << 20), "n == 1 MiB is accepted");
  tsr_secmem_free(p);
  tsr_secmem_free(NULL);
  ok(1, "free(NULL) is a no-op");
}

/* Each size alone: alignment, zeroed, size, writable over its whole length. */
static void test_sizes(void) {
  int good = 1;
  for (size_t n = 1; n <= 4097 && good; n++) {
    size_t sz = n == 4097 ? 100000 : n;
    uint8_t *p = tsr_secmem_alloc(sz);
    good = p != NULL && (uintptr_t)p % 16 == 0 && all_bytes(p, sz, 0) && tsr_secmem_size(p) == sz;
    if (good) memset(p, 0xff, sz);
    tsr_secmem_free(p);
  }
  ok(good, "sizes 1..4096 and 100000: 16-aligned, zeroed, size reported, writable");
}

/* Many live blocks of different sizes: write distinct patterns everywhere,
 * then verify none was overwritten by a neighbour. */
static void test_distinct(void) {
  enum { N = 600 };
  static uint8_t *p[N];
  size_t n[N];
  int good = 1;
  for (size_t b = 0; b < N; b++) {
    n[b] = b < 512 ? b + 1 : 1000 + 37 * b; /* ~150 KiB + ~60 KiB in total */
    p[b] = tsr_secmem_alloc(n[b]);
    if (p[b] == NULL || !all_bytes(p[b], n[b], 0)) good = 0;
    for (size_t i = 0; p[b] != NULL && i < n[b]; i++) p[b][i] = pattern(b, i);
  }
  for (size_t b = 0; b < N && good; b++)
    for (size_t i = 0; i < n[b]; i++)
      if (p[b][i] != pattern(b, i)) good = 0;
  for (size_t b = 0; b < N && good; b++)
    for (size_t c = 0; c < N; c++) /* no two [p, p+n) ranges intersect */
      if (b != c && (uintptr_t)p[b] < (uintptr_t)p[c] + n[c] && (uintptr_t)p[c] < (uintptr_t)p[b] + n[b]) good = 0;
  for (size_t b = 0; b < N; b++) tsr_secmem_free(p[b]);
  ok(good, "600 live blocks of mixed sizes are distinct and keep their patterns");
}

static void test_pooling_and_stats(void) {
  enum { N = 10000 };
  static uint32_t *p[N];
  tsr_secmem_free(tsr_secmem_alloc(1)); /* ensure the cached arena exists */
  tsr_secmem_stats base, live, after;
  tsr_secmem_stats_get(&base);
  int good = 1;
  for (uint32_t i = 0; i < N; i++) {
    p[i] = tsr_secmem_alloc(32);
    if (p[i] == NULL) {
      good = 0;
      break;
    }
    p[i][0] = i;
    p[i][7] = ~i;
  }
  tsr_secmem_stats_get(&live);
  for (uint32_t i = 0; i < N && good; i++)
    if (p[i][0] != i || p[i][7] != ~i) good = 0;
  ok(good, "10000 live 32-byte blocks keep their contents");
  printf("# 10000 x 32 bytes: %llu arenas, %llu bytes locked, %llu mapped\n", (unsigned long long)live.arenas,
         (unsigned long long)live.locked_bytes, (unsigned long long)live.mapped_bytes);
  ok(live.arenas >= 1 && live.arenas <= 20, "10000 allocations share a handful of arenas");
  ok(live.allocations == base.allocations + N, "stats count live allocations");
  ok(live.locked_bytes > base.locked_bytes && live.locked_bytes >= (uint64_t)N * 32,
     "locked_bytes grows while allocated");
  ok(live.mapped_bytes > live.locked_bytes, "mapped_bytes includes guard pages");
  for (uint32_t i = 0; i < N; i++) tsr_secmem_free(p[i]);
  tsr_secmem_stats_get(&after);
  ok(after.allocations == base.allocations && after.arenas == base.arenas && after.locked_bytes == base.locked_bytes &&
         after.mapped_bytes == base.mapped_bytes,
     "stats return to baseline after free (empty arenas unmapped)");
  ok(base.locked_bytes > 0 && after.memlock_limit > 0, "locked_bytes > 0 with a live arena; memlock_limit read");
}

static void test_zeroize_on_free(void) {
  uint8_t *a = tsr_secmem_alloc(48), *b = tsr_secmem_alloc(48);
  ok(a && b && tsr_secmem_test_guard_after(a) == tsr_secmem_test_guard_after(b),
     "two small blocks land in the same arena");
  memset(a, 0xa5, 48);
  memset(b, 0x5a, 48);
  volatile uint8_t *saved = a - 16; /* header + data + pad + trailer */
  tsr_secmem_free(a);
  ok(all_bytes(saved, 16 + 48 + 16, 0), "freed block (header, data, trailer) reads back as zero");
  ok(all_bytes(b, 48, 0x5a), "the neighbouring live block is untouched");
  tsr_secmem_free(b);
}

/* Children for the abort tests. arg selects what to damage. */
static void child_corrupt(void *arg) {
  int how = (int)(intptr_t)arg;
  (void)tsr_secmem_alloc(16); /* keeps the arena mapped after free (double free case) */
  uint8_t *p = tsr_secmem_alloc(how == 1 ? 20 : 32);
  switch (how) {
    case 0:
      p[32] ^= 1;
      break; /* one byte past n=32: trailer */
    case 1:
      p[20] ^= 1;
      break; /* one byte past n=20: pad */
    case 2:
      p[-16] ^= 1;
      break; /* header canary (underflow) */
    case 3:
      tsr_secmem_free(p);
      break; /* double free */
    case 4: {
      static char x[64];
      p = (uint8_t *)x + 16;
      break;
    } /* wild pointer */
    case 5: { /* a valid block copied over another block of the same size */
      uint8_t *q = tsr_secmem_alloc(32);
      memcpy(q - 16, p - 16, 64);
      p = q;
      break;
    }
  }
  tsr_secmem_free(p);
  _exit(0); /* not reached if free aborts */
}

static void test_aborts(void) {
  static const char *what[] = {
      "one byte past the end (n=32, trailer canary) aborts with SIGABRT",
      "one byte past the end (n=20, padding canary) aborts with SIGABRT",
      "header canary overwrite aborts with SIGABRT",
      "double free aborts with SIGABRT",
      "free of a pointer not from tsr_secmem aborts with SIGABRT",
      "a block copied to another address does not validate (SIGABRT)",
  };
  for (int i = 0; i < 6; i++) ok(died_by(in_child(child_corrupt, (void *)(intptr_t)i), SIGABRT), what[i]);
}

static void child_guard(void *arg) {
  (void)arg;
  uint8_t *p = tsr_secmem_alloc(64);
  signal(SIGSEGV, SIG_DFL); /* ASan would otherwise catch it and exit(1) */
  signal(SIGBUS, SIG_DFL);
  const volatile uint8_t *g = tsr_secmem_test_guard_after(p);
  (void)*g;
  _exit(0);
}

static void child_wipe(void *arg) {
  const volatile uint8_t *p = arg;
  signal(SIGSEGV, SIG_DFL); /* memfd_secret mode: the arena is not mapped */
  _exit(all_bytes(p, 64, 0) ? 0 : 1);
}

/* After fork() the child can allocate fresh blocks, and inherited arenas are
 * re-locked (mlock is not inherited) on first use. */
static void child_after_fork(void *arg) {
  (void)arg;
  tsr_secmem_stats st;
  tsr_secmem_stats_get(&st);
  if (st.locked_bytes != 0) _exit(1); /* nothing is locked in a fresh child */
  uint8_t *q = tsr_secmem_alloc(64);
  if (q == NULL || !all_bytes(q, 64, 0)) _exit(1);
  memset(q, 0x11, 64);
  tsr_secmem_stats_get(&st);
  if (st.locked_bytes == 0 || st.arenas == 0) _exit(1);
  tsr_secmem_free(q);
  _exit(0);
}

static void test_fork(void) {
  int status = in_child(child_guard, NULL);
  ok(died_by(status, SIGSEGV) || died_by(status, SIGBUS), "touching the guard page kills with SIGSEGV");

  uint8_t *p = tsr_secmem_alloc(64);
  memset(p, 0xc3, 64);
  tsr_secmem_stats st;
  tsr_secmem_stats_get(&st);
  printf("# flags: memfd_secret=%d wipe_on_fork=%d dont_dump=%d mlock_failures=%llu memlock_limit=%llu\n",
         st.memfd_secret, st.wipe_on_fork, st.dont_dump, (unsigned long long)st.mlock_failures,
         (unsigned long long)st.memlock_limit);
  ok(st.dont_dump, "MADV_DONTDUMP took effect");
  status = in_child(child_wipe, p);
  if (st.memfd_secret)
    ok(died_by(status, SIGSEGV), "memfd_secret (MADV_DONTFORK): the block is not mapped in a fork child");
  else if (st.wipe_on_fork)
    ok(exited(status, 0), "MADV_WIPEONFORK: a fork child reads the block as zeros");
  else
    skip("MADV_WIPEONFORK: a fork child reads the block as zeros", "not available");
  ok(all_bytes(p, 64, 0xc3), "parent keeps its bytes across fork");
  ok(exited(in_child(child_after_fork, NULL), 0), "a fork child can allocate, and its arenas are locked again");
  tsr_secmem_free(p);
}

static void *thread_main(void *arg) {
  uintptr_t id = (uintptr_t)arg;
  uint8_t *keep[8] = {0};
  for (size_t i = 0; i < 10000; i++) {
    size_t n = 1 + (i * 37 + id * 11) % 300;
    uint8_t *p = tsr_secmem_alloc(n);
    if (p == NULL || !all_bytes(p, n, 0) || tsr_secmem_size(p) != n) return (void *)1;
    memset(p, (int)(id + 1), n);
    /* hold a few blocks across iterations so threads interleave in arenas */
    uint8_t **slot = &keep[i % 8];
    if (*slot != NULL) {
      size_t m = tsr_secmem_size(*slot);
      if (!all_bytes(*slot, m, (uint8_t)(id + 1))) return (void *)1;
      tsr_secmem_free(*slot);
    }
    *slot = p;
  }
  for (int k = 0; k < 8; k++) tsr_secmem_free(keep[k]);
  return NULL;
}

static void test_threads(void) {
  pthread_t t[4];
  int good = 1;
  tsr_secmem_stats before, after;
  tsr_secmem_stats_get(&before);
  for (uintptr_t i = 0; i < 4; i++)
    if (pthread_create(&t[i], NULL, thread_main, (void *)i) != 0) good = 0;
  for (int i = 0; i < 4; i++) {
    void *r = (void *)1;
    pthread_join(t[i], &r);
    if (r != NULL) good = 0;
  }
  tsr_secmem_stats_get(&after);
  ok(good, "4 threads x 10000 alloc/free cycles keep their data");
  ok(after.allocations == before.allocations, "no allocations leaked by the threads");
}

/* mlock failure is counted but not fatal. Root has CAP_IPC_LOCK, which
 * bypasses RLIMIT_MEMLOCK, so the child drops to nobody first. Exit codes:
 * 0 pass, 1 fail, 2 cannot drop privileges, 3 mlock cannot fail (ASan's
 * interceptor makes mlock a no-op that returns 0). */
static void child_mlock_fail(void *arg) {
  (void)arg;
  struct rlimit rl = {0, 0};
  tsr_secmem_stats st;
  (void)tsr_secmem_alloc(16); /* an arena, to learn the mode from stats */
  tsr_secmem_stats_get(&st);
  int secret = st.memfd_secret;
  if (geteuid() == 0 && setuid(65534) != 0) _exit(2);
  if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) _exit(2);
  void *p = tsr_secmem_alloc(200000); /* needs a new arena */
  tsr_secmem_stats_get(&st);
  if (secret) _exit(p == NULL && errno == ENOMEM && st.mlock_failures > 0 ? 0 : 1);
  if (p != NULL && st.mlock_failures == 0) _exit(3); /* mlock cannot fail here */
  _exit(p != NULL && st.mlock_failures > 0 && st.memlock_limit == 0 ? 0 : 1);
}

/* TESSERA_SECMEM_STRICT is read once at first use, so strict mode needs a
 * fresh process: re-exec this binary. */
static void child_strict(void *arg) {
  struct rlimit rl = {0, 0};
  if (geteuid() == 0 && setuid(65534) != 0) _exit(2);
  if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) _exit(2);
  setenv("TESSERA_SECMEM_STRICT", "1", 1);
  execl((const char *)arg, (const char *)arg, "--strict-child", (char *)NULL);
  _exit(3);
}

static int strict_child_main(void) {
  errno = 0;
  void *p = tsr_secmem_alloc(64);
  tsr_secmem_stats st;
  tsr_secmem_stats_get(&st);
  if (p != NULL && st.mlock_failures == 0) return 3; /* mlock cannot fail here */
  return p == NULL && errno == ENOMEM && st.mlock_failures == 1 && st.arenas == 0 ? 0 : 1;
}

static void report_skippable(int status, const char *desc) {
  if (exited(status, 2))
    skip(desc, "cannot drop privileges (CAP_IPC_LOCK bypasses the limit)");
  else if (exited(status, 3))
    skip(desc, "mlock cannot fail here (ASan intercepts mlock)");
  else
    ok(exited(status, 0), desc);
}

static void test_mlock_failure(char *self) {
  report_skippable(in_child(child_mlock_fail, NULL),
                   "mlock failure is counted, allocation still succeeds (memfd_secret: ENOMEM)");
  report_skippable(in_child(child_strict, self), "TESSERA_SECMEM_STRICT=1 turns mlock failure into ENOMEM");
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--strict-child") == 0) return strict_child_main();
  test_rejects();
  test_sizes();
  test_distinct();
  test_pooling_and_stats();
  test_zeroize_on_free();
  test_aborts();
  test_fork();
  test_threads();
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0)
    snprintf(self, sizeof self, "%s", argv[0]);
  else
    self[len] = '\0';
  test_mlock_failure(self);

  tsr_secmem_stats st;
  tsr_secmem_stats_get(&st);
  ok(st.allocations == 0, "no live allocations at the end");
  ok(st.mlock_failures == 0, "no mlock failures in this process (fits RLIMIT_MEMLOCK)");
  printf("1..%d\n# %d passed, %d failed\n", test_count, test_count - test_failures, test_failures);
  return test_failures == 0 ? 0 : 1;
}
