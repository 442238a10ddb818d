#include "tsr_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct tsr_job {
  void (*fn)(void *, size_t, unsigned);
  void *arg;
  size_t ntasks, next;   /* next unclaimed task */
  unsigned slots;        /* workers that may still join */
  unsigned participants; /* ids handed out so far (the caller is 0) */
  unsigned active;       /* workers inside the job */
  struct tsr_job *link;  /* queue of open jobs */
} tsr_job;

/* All pool state is guarded by g_lock. Tasks are coarse (hundreds of KiB of
 * crypto each), so one lock per claim costs nothing measurable. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_work = PTHREAD_COND_INITIALIZER; /* a job was queued, or the size shrank */
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER; /* a worker left a job */
static tsr_job *g_jobs;
static unsigned g_size;    /* 0 until first use: then tsr_pool_cpus() or as set */
static unsigned g_threads; /* workers alive */
static unsigned g_idle;
static int g_atfork;

unsigned tsr_pool_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return (unsigned)CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1u;
}

static unsigned size_locked(void) {
  if (!g_size) g_size = tsr_pool_cpus() < TSR_POOL_MAX ? tsr_pool_cpus() : TSR_POOL_MAX;
  return g_size;
}

size_t tsr_pool_queued(void) {
  size_t n = 0;
  pthread_mutex_lock(&g_lock);
  for (tsr_job *j = g_jobs; j; j = j->link) n += j->ntasks - j->next;
  pthread_mutex_unlock(&g_lock);
  return n;
}

/* The first open job a worker can join. */
static tsr_job *find_job(void) {
  for (tsr_job *j = g_jobs; j; j = j->link)
    if (j->slots > 0 && j->next < j->ntasks) return j;
  return NULL;
}

/* Workers yield to the threads that serve requests (the event loop above
 * all): nice + 10 relative to the process. Lowering one's own priority needs
 * no privilege; failure just leaves the default. */
static void lower_priority(void) {
  pid_t tid = (pid_t)syscall(SYS_gettid);
  int cur = getpriority(PRIO_PROCESS, 0);
  int want = cur + 10 > 19 ? 19 : cur + 10;
  (void)setpriority(PRIO_PROCESS, (id_t)tid, want);
}

static void *worker_main(void *unused) {
  (void)unused;
  lower_priority();
  pthread_mutex_lock(&g_lock);
  g_idle--; /* start_locked counted this thread idle before it ran */
  for (;;) {
    tsr_job *j = find_job();
    if (!j) {
      if (g_threads > size_locked()) break; /* shrunk: leave once idle */
      g_idle++;
      pthread_cond_wait(&g_work, &g_lock);
      g_idle--;
      continue;
    }
    j->slots--;
    j->active++;
    unsigned me = j->participants++;
    while (j->next < j->ntasks) {
      size_t t = j->next++;
      pthread_mutex_unlock(&g_lock);
      j->fn(j->arg, t, me);
      pthread_mutex_lock(&g_lock);
    }
    j->active--;
    pthread_cond_broadcast(&g_done);
  }
  g_threads--;
  pthread_mutex_unlock(&g_lock);
  return NULL;
}

/* In a forked child no worker exists and no job is open: start afresh. */
static void atfork_child(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  g_lock = m;
  g_work = c;
  g_done = c;
  g_jobs = NULL;
  g_threads = g_idle = 0;
}

/* Starts workers until `want` are idle or the pool is full. Returns how many
 * are idle (a failed pthread_create just means fewer helpers). */
static unsigned start_locked(unsigned want) {
  if (!g_atfork) {
    pthread_atfork(NULL, NULL, atfork_child);
    g_atfork = 1;
  }
  while (g_idle < want && g_threads < size_locked()) {
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, worker_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) break;
    g_threads++;
    g_idle++; /* counted idle until it looks at the queue */
  }
  return g_idle;
}

void tsr_pool_set_size(unsigned n) {
  pthread_mutex_lock(&g_lock);
  g_size = n == 0 ? 0 : (n < TSR_POOL_MAX ? n : TSR_POOL_MAX);
  size_locked();
  pthread_cond_broadcast(&g_work); /* extra workers notice and exit */
  pthread_mutex_unlock(&g_lock);
}

unsigned tsr_pool_size(void) {
  pthread_mutex_lock(&g_lock);
  unsigned n = size_locked();
  pthread_mutex_unlock(&g_lock);
  return n;
}

static void unlink_job(tsr_job *job) {
  for (tsr_job **p = &g_jobs; *p; p = &(*p)->link)
    if (*p == job) {
      *p = job->link;
      return;
    }
}

static void run(void (*fn)(void *, size_t, unsigned), void *arg, size_t ntasks, unsigned width, int background) {
  if (!background && (width <= 1 || ntasks <= 1)) {
    for (size_t t = 0; t < ntasks; t++) fn(arg, t, 0);
    return;
  }
  /* Workers wanted: the caller takes one share unless it stays in the background. */
  unsigned helpers = background ? width : width - 1;
  if (helpers == 0) helpers = 1;
  if ((size_t)helpers > ntasks) helpers = (unsigned)ntasks;
  tsr_job job = {fn, arg, ntasks, 0, 0, background ? 0u : 1u, 0, NULL};
  pthread_mutex_lock(&g_lock);
  if (background && start_locked(helpers) == 0 && g_threads == 0)
    background = 0; /* no worker at all: do it here */
  else if (!background)
    start_locked(helpers);
  job.slots = helpers;
  job.link = g_jobs;
  g_jobs = &job;
  if (helpers == 1)
    pthread_cond_signal(&g_work);
  else
    pthread_cond_broadcast(&g_work);
  if (!background) {
    while (job.next < job.ntasks) {
      size_t t = job.next++;
      pthread_mutex_unlock(&g_lock);
      fn(arg, t, 0);
      pthread_mutex_lock(&g_lock);
    }
  }
  /* Wait until every task is claimed and none is running. */
  while (job.next < job.ntasks || job.active > 0) pthread_cond_wait(&g_done, &g_lock);
  unlink_job(&job);
  pthread_mutex_unlock(&g_lock);
}

void tsr_pool_run(void (*fn)(void *, size_t, unsigned), void *arg, size_t ntasks, unsigned width) {
  run(fn, arg, ntasks, width, 0);
}

void tsr_pool_run_background(void (*fn)(void *, size_t, unsigned), void *arg, size_t ntasks, unsigned width) {
  run(fn, arg, ntasks, width, 1);
}

struct pair_arg {
  void (*fn)(void *);
  void *a, *b;
};

static void pair_task(void *arg, size_t task, unsigned participant) {
  (void)participant;
  struct pair_arg *p = (struct pair_arg *)arg;
  p->fn(task == 0 ? p->a : p->b);
}

void tsr_pool_pair(void (*fn)(void *), void *a, void *b) {
  struct pair_arg p = {fn, a, b};
  tsr_pool_run(pair_task, &p, 2, 2);
}
