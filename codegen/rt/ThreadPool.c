/*===- codegen/rt/ThreadPool.c - The parallel-for of generated code -------===//
//
// Compiled to LLVM bitcode when gradc is built and linked, with internal
// linkage, into every module whose kernels have a parallel loop
// (codegen/Parallel.cpp), so JIT code and AOT objects alike need only libc
// and pthreads. Each module thus owns one pool:
//
//   gradc_rt_parallel_for(Fn, Ctx, N, Threads) runs Fn(Ctx, Lo, Hi) over
//   chunks covering [0, N) exactly once, on the calling thread and
//   Threads - 1 workers, and returns when every chunk is done. Chunks are
//   claimed dynamically (an atomic counter), which balances uneven work and
//   busy cores; the iterations of a parallel loop write disjoint outputs,
//   so the result does not depend on who runs which chunk.
//   gradc_rt_shutdown() stops and joins the workers (a later call starts
//   them again).
//
// The workers start at the first parallel loop. A job is published by
// bumping Generation under Lock; a waiting worker spins briefly on it (the
// next parallel loop of a step comes within microseconds), then sleeps on
// Wake. Every worker checks in for every job (Pending), so no worker can
// still be reading a job when the next one is written. The caller likewise
// spins, then sleeps on Done. A call made while the pool is busy (another
// thread in the same module) runs serially. Nothing is allocated after the
// workers start.
//
//===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

typedef void (*gradc_body)(void *Ctx, int64_t Lo, int64_t Hi);

enum { MaxWorkers = 255 };
/* How long an idle thread spins before it sleeps, in nanoseconds. */
static const int64_t SpinNs = 200000;

static struct {
  pthread_mutex_t Lock;
  pthread_cond_t Wake, Done;
  pthread_t Workers[MaxWorkers];
  int NumWorkers; /* started (0: not started) */
  int Sleepers;   /* workers waiting on Wake (under Lock) */
  int Stop;       /* set with the last Generation bump by gradc_rt_shutdown */
  atomic_int Busy;
  atomic_uint_fast64_t Generation;
  /* The current job: written before its Generation bump, read after it. */
  gradc_body Fn;
  void *Ctx;
  int64_t N, Chunk;
  atomic_int_fast64_t Next;
  atomic_int Pending; /* workers yet to finish the job */
} Pool = {.Lock = PTHREAD_MUTEX_INITIALIZER,
          .Wake = PTHREAD_COND_INITIALIZER,
          .Done = PTHREAD_COND_INITIALIZER};

static void pause1(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

static int64_t nowNs(void) {
  struct timespec T;
  clock_gettime(CLOCK_MONOTONIC, &T);
  return (int64_t)T.tv_sec * 1000000000 + T.tv_nsec;
}

/* Spins until *Ready(Arg) holds or SpinNs pass; returns whether it holds. */
static int spinUntil(int (*Ready)(uint64_t), uint64_t Arg) {
  int64_t Deadline = 0;
  for (unsigned I = 0;; ++I) {
    if (Ready(Arg))
      return 1;
    pause1();
    if ((I & 63) == 63) {
      int64_t Now = nowNs();
      if (!Deadline)
        Deadline = Now + SpinNs;
      else if (Now > Deadline)
        return 0;
    }
  }
}

static int newGeneration(uint64_t Seen) {
  return atomic_load_explicit(&Pool.Generation, memory_order_acquire) != Seen;
}
static int allDone(uint64_t Unused) {
  (void)Unused;
  return atomic_load_explicit(&Pool.Pending, memory_order_acquire) == 0;
}

/* Claims and runs chunks of the current job until none is left. */
static void runChunks(void) {
  int64_t N = Pool.N, Chunk = Pool.Chunk;
  for (;;) {
    int64_t Lo = atomic_fetch_add_explicit(&Pool.Next, Chunk,
                                           memory_order_relaxed);
    if (Lo >= N)
      return;
    Pool.Fn(Pool.Ctx, Lo, Lo + Chunk < N ? Lo + Chunk : N);
  }
}

static void *workerMain(void *Arg) {
  uint64_t Seen = (uint64_t)(uintptr_t)Arg;
  for (;;) {
    if (!spinUntil(newGeneration, Seen)) {
      pthread_mutex_lock(&Pool.Lock);
      while (!newGeneration(Seen)) {
        ++Pool.Sleepers;
        pthread_cond_wait(&Pool.Wake, &Pool.Lock);
        --Pool.Sleepers;
      }
      pthread_mutex_unlock(&Pool.Lock);
    }
    Seen = atomic_load_explicit(&Pool.Generation, memory_order_acquire);
    if (Pool.Stop)
      return 0;
    runChunks();
    if (atomic_fetch_sub_explicit(&Pool.Pending, 1, memory_order_acq_rel) ==
        1) {
      pthread_mutex_lock(&Pool.Lock);
      pthread_cond_signal(&Pool.Done);
      pthread_mutex_unlock(&Pool.Lock);
    }
  }
}

/* Starts up to Count workers (fewer if the system refuses), signals blocked
   so that they go to the program's own threads. */
static void startWorkers(int Count) {
  sigset_t All, Old;
  sigfillset(&All);
  pthread_sigmask(SIG_SETMASK, &All, &Old);
  uint64_t G = atomic_load_explicit(&Pool.Generation, memory_order_relaxed);
  while (Pool.NumWorkers < Count &&
         pthread_create(&Pool.Workers[Pool.NumWorkers], 0, workerMain,
                        (void *)(uintptr_t)G) == 0)
    ++Pool.NumWorkers;
  pthread_sigmask(SIG_SETMASK, &Old, 0);
}

/* Publishes the job (or the stop) set up by the caller. */
static void publish(void) {
  pthread_mutex_lock(&Pool.Lock);
  atomic_fetch_add_explicit(&Pool.Generation, 1, memory_order_release);
  if (Pool.Sleepers)
    pthread_cond_broadcast(&Pool.Wake);
  pthread_mutex_unlock(&Pool.Lock);
}

void gradc_rt_parallel_for(gradc_body Fn, void *Ctx, int64_t N,
                           int64_t Threads) {
  if (N <= 0)
    return;
  int Expected = 0;
  if (Threads < 2 || N < 2 ||
      !atomic_compare_exchange_strong(&Pool.Busy, &Expected, 1)) {
    Fn(Ctx, 0, N);
    return;
  }
  if (Pool.NumWorkers == 0)
    startWorkers(Threads - 1 < MaxWorkers ? (int)Threads - 1 : MaxWorkers);
  if (Pool.NumWorkers == 0) {
    atomic_store(&Pool.Busy, 0);
    Fn(Ctx, 0, N);
    return;
  }
  int64_t Parts = (int64_t)(Pool.NumWorkers + 1) * 4;
  Pool.Fn = Fn;
  Pool.Ctx = Ctx;
  Pool.N = N;
  Pool.Chunk = N / Parts > 0 ? N / Parts : 1;
  atomic_store_explicit(&Pool.Next, 0, memory_order_relaxed);
  atomic_store_explicit(&Pool.Pending, Pool.NumWorkers, memory_order_relaxed);
  publish();
  runChunks();
  if (!spinUntil(allDone, 0)) {
    pthread_mutex_lock(&Pool.Lock);
    while (!allDone(0))
      pthread_cond_wait(&Pool.Done, &Pool.Lock);
    pthread_mutex_unlock(&Pool.Lock);
  }
  atomic_store_explicit(&Pool.Busy, 0, memory_order_release);
}

void gradc_rt_shutdown(void) {
  int Expected = 0;
  if (!atomic_compare_exchange_strong(&Pool.Busy, &Expected, 1))
    return;
  if (Pool.NumWorkers) {
    Pool.Stop = 1;
    publish();
    for (int I = 0; I < Pool.NumWorkers; ++I)
      pthread_join(Pool.Workers[I], 0);
    Pool.NumWorkers = 0;
    Pool.Stop = 0;
  }
  atomic_store(&Pool.Busy, 0);
}
