#include "tsr_pool.h"

#include <pthread.h>
#include <stddef.h>

/* One helper thread, started on first use. State guarded by g_lock. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;
static int g_started, g_failed, g_busy, g_pending, g_finished;
static void (*g_fn)(void *);
static void *g_arg;

static void *helper_main(void *unused) {
  (void)unused;
  pthread_mutex_lock(&g_lock);
  for (;;) {
    while (!g_pending) pthread_cond_wait(&g_work, &g_lock);
    g_pending = 0;
    void (*fn)(void *) = g_fn;
    void *arg = g_arg;
    pthread_mutex_unlock(&g_lock);
    fn(arg);
    pthread_mutex_lock(&g_lock);
    g_finished = 1;
    pthread_cond_signal(&g_done);
  }
  return NULL;
}

/* In a forked child the helper thread does not exist: start afresh. */
static void atfork_child(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  g_lock = m;
  g_work = c;
  g_done = c;
  g_started = g_failed = g_busy = g_pending = g_finished = 0;
}

static int start_locked(void) {
  if (g_started || g_failed) return g_started;
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &attr, helper_main, NULL) == 0) {
    g_started = 1;
    pthread_atfork(NULL, NULL, atfork_child);
  } else {
    g_failed = 1;
  }
  pthread_attr_destroy(&attr);
  return g_started;
}

void tsr_pool_pair(void (*fn)(void *), void *a, void *b) {
  pthread_mutex_lock(&g_lock);
  if (g_busy || !start_locked()) {
    pthread_mutex_unlock(&g_lock);
    fn(a);
    fn(b);
    return;
  }
  g_busy = 1;
  g_fn = fn;
  g_arg = b;
  g_pending = 1;
  g_finished = 0;
  pthread_cond_signal(&g_work);
  pthread_mutex_unlock(&g_lock);

  fn(a);

  pthread_mutex_lock(&g_lock);
  while (!g_finished) pthread_cond_wait(&g_done, &g_lock);
  g_busy = 0;
  pthread_mutex_unlock(&g_lock);
}
