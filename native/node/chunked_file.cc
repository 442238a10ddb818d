// NativeChunked#fileAsync: a whole Cobblestone file in one native job
// (native/pool/tsr_chunked_file.c does the reading, the AEAD and the
// writing; lib/chunked/file.ts opens the files, writes the header, checks the
// commitment and makes the output atomic). This file only checks arguments,
// allocates the batch ring and settles the promise.
//
//   fileAsync(seal, inFd, inOffset, inLength, outFd, outOffset, threads,
//             onProgress?: (inputBytes) => void) -> Promise<inputBytes>
//
// inLength: open, the chunk stream's length (checked here: ERR_TRUNCATED if
// no message has it); seal, the size the caller saw (informational: the
// input is read to its end, as the JS loop does). Failed reads and writes reject ERR_IO with `errno`
// (negative, as Node's errors) and `syscall`; lib/chunked/file.ts words them
// as Node's own fs errors.
#include <atomic>
#include <cstring>
#include <memory>
#include <string>

#include "chunked.h"

extern "C" {
#include "../pool/tsr_chunked_file.h"
#include "../pool/tsr_pool.h"
}

namespace tsr {

namespace {

// Progress reaches JS through a thread-safe function, at most one call
// queued at a time: a batch that finishes while one is queued only raises
// `latest`, which the queued call reads when it runs. So JS sees batch
// granularity while it keeps up, and fewer, later counts when it does not.
struct Progress {
  Napi::ThreadSafeFunction fn;
  std::atomic<uint64_t> latest{0};
  std::atomic<bool> queued{false};
  bool released = false;
  void Release() {
    if (!released) fn.Release();
    released = true;
  }
};

struct ProgressHook {
  std::shared_ptr<Progress> p;
};

void OnProgress(void *arg, uint64_t bytes) {
  std::shared_ptr<Progress> p = static_cast<ProgressHook *>(arg)->p;
  p->latest.store(bytes, std::memory_order_relaxed);
  if (p->queued.exchange(true)) return;
  p->fn.NonBlockingCall([p](Napi::Env env, Napi::Function js) {
    p->queued.store(false);
    try {
      js.Call({Napi::Number::New(env, static_cast<double>(p->latest.load(std::memory_order_relaxed)))});
    } catch (const Napi::Error &) {
      // lib/chunked/file.ts passes a callback that never throws (it cancels
      // the job and rethrows the caller's error at the end).
    }
  });
}

struct FileArgs {
  bool seal;
  int in_fd, out_fd;
  uint64_t in_off, in_len, out_off;
  unsigned width;
};

class FileJob : public Napi::AsyncWorker {
 public:
  FileJob(Napi::Env env, std::shared_ptr<ChunkedState> state, const FileArgs &a, bool *busy, Napi::Object owner,
          std::shared_ptr<Progress> progress)
      : Napi::AsyncWorker(env, "tessera:chunked-file"),
        deferred_(Napi::Promise::Deferred::New(env)),
        state_(std::move(state)),
        args_(a),
        busy_(busy),
        progress_(std::move(progress)) {
    owner_ref_ = Napi::Persistent(owner);
  }
  ~FileJob() override {
    if (progress_) progress_->Release();
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    // Contexts: the calling thread plus `width` workers (tsr_chunked_file_run).
    status_ = state_->Ensure(args_.width + 1);
    if (status_ != TSR_OK) {
      result_ = TSR_CHUNKED_FILE_CRYPTO;
      Done();
      return;
    }
    void *hint = nullptr;
    // AllocOut: a cached mapped block (addon.cc), so back-to-back files do
    // not fault the ring's pages in again.
    uint8_t *mem = AllocOut(TSR_CHUNKED_FILE_SLOTS * tsr_chunked_file_slot_bytes(), &hint);
    if (!mem) {
      result_ = TSR_CHUNKED_FILE_CRYPTO;
      status_ = TSR_ERR_NOMEM;
      Done();
      return;
    }
    tsr_chunked_file_job job;
    std::memset(&job, 0, sizeof job);
    job.seal = args_.seal;
    job.in_fd = args_.in_fd;
    job.out_fd = args_.out_fd;
    job.in_off = args_.in_off;
    job.in_len = args_.in_len;
    job.out_off = args_.out_off;
    job.ctxs = state_->ctxs.data();
    job.base_nonce = state_->keys->base_nonce;
    job.width = args_.width;
    job.mem = mem;
    job.cancel = &state_->cancel;
    ProgressHook hook{progress_};
    if (progress_) {
      job.progress = OnProgress;
      job.progress_arg = &hook;
    }
    result_ = tsr_chunked_file_run(&job);  // zeroes the plaintext it left in mem
    FreeOut(mem, hint);
    status_ = job.status;
    err_ = job.err;
    in_done_ = job.in_done;
    Done();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    *busy_ = false;
    switch (result_) {
      case TSR_CHUNKED_FILE_OK:
        deferred_.Resolve(Napi::Number::New(env, static_cast<double>(in_done_)));
        return;
      case TSR_CHUNKED_FILE_CRYPTO:
        deferred_.Reject(ChunkError(env, status_, args_.seal));
        return;
      case TSR_CHUNKED_FILE_SHRANK:
        deferred_.Reject(MakeError(env, "ERR_TRUNCATED", "chunked file shrank while it was being read"));
        return;
      case TSR_CHUNKED_FILE_CANCELLED:
        deferred_.Reject(MakeError(env, "ERR_ABORTED", args_.seal ? "encryptFile aborted" : "decryptFile aborted"));
        return;
      case TSR_CHUNKED_FILE_READ:
      case TSR_CHUNKED_FILE_WRITE: {
        const char *syscall = result_ == TSR_CHUNKED_FILE_READ ? "read" : "write";
        Napi::Value e = MakeError(env, "ERR_IO", std::string(syscall) + ": " + std::strerror(err_));
        e.As<Napi::Object>().Set("errno", Napi::Number::New(env, -err_));
        e.As<Napi::Object>().Set("syscall", Napi::String::New(env, syscall));
        deferred_.Reject(e);
        return;
      }
    }
  }

  void OnError(const Napi::Error &e) override {
    *busy_ = false;
    deferred_.Reject(e.Value());
  }

 private:
  // The progress function lets the event loop go once released; calls still
  // queued are delivered first (Node-API: napi_release_threadsafe_function).
  void Done() {
    if (progress_) progress_->Release();
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ChunkedState> state_;
  FileArgs args_;
  bool *busy_;  // lives in the wrapper, which owner_ref_ keeps alive
  Napi::ObjectReference owner_ref_;
  std::shared_ptr<Progress> progress_;
  tsr_chunked_file_result result_ = TSR_CHUNKED_FILE_CRYPTO;
  tsr_status status_ = TSR_ERR_INTERNAL;
  int err_ = 0;
  uint64_t in_done_ = 0;
};

constexpr double kMaxSafe = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER: file offsets and sizes

}  // namespace

Napi::Value ChunkedFileAsync(const Napi::CallbackInfo &info, std::shared_ptr<ChunkedState> state, bool *busy,
                             Napi::Object owner) {
  Napi::Env env = info.Env();
  FileArgs a;
  a.seal = info[0].ToBoolean().Value();
  a.in_fd = static_cast<int>(GetNumber(env, info[1], "input fd", 2147483647.0));
  a.in_off = static_cast<uint64_t>(GetNumber(env, info[2], "input offset", kMaxSafe));
  a.in_len = static_cast<uint64_t>(GetNumber(env, info[3], "input length", kMaxSafe));
  a.out_fd = static_cast<int>(GetNumber(env, info[4], "output fd", 2147483647.0));
  a.out_off = static_cast<uint64_t>(GetNumber(env, info[5], "output offset", kMaxSafe));
  unsigned t = static_cast<unsigned>(GetNumber(env, info[6], "threads", TSR_POOL_MAX));
  a.width = t ? t : tsr_pool_size();
  if (!a.seal) {
    uint64_t pt;
    tsr_status st = tsr_chunked_opened_len(a.in_len, &pt);
    if (st != TSR_OK) throw Napi::Error(env, ChunkError(env, st, false));
  }
  std::shared_ptr<Progress> progress;
  if (info.Length() > 7 && !info[7].IsUndefined()) {
    if (!info[7].IsFunction()) ThrowStatus(env, TSR_ERR_ARGUMENT, "onProgress");
    progress = std::make_shared<Progress>();
    progress->fn = Napi::ThreadSafeFunction::New(env, info[7].As<Napi::Function>(), "tessera:file-progress", 0, 1);
  }
  __atomic_store_n(&state->cancel, 0, __ATOMIC_RELEASE);  // before the job exists: a cancel() from now on counts
  auto *job = new FileJob(env, std::move(state), a, busy, owner, std::move(progress));
  *busy = true;
  Napi::Promise p = job->Promise();
  job->Queue();
  return p;
}

}  // namespace tsr
