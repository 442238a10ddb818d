// NativeChunked: one Cobblestone message's derived keys
// (c2sp.org/chunked-encryption) in secure memory, and the calls that
// seal or open runs of consecutive chunks on the worker pool, synchronously
// or on a libuv thread. lib/chunked/ builds buffers, streams, random access
// and files on these few calls; the framing math stays in native/chunked.
//
//   new NativeChunked(suite, inputKey: Uint8Array | NativeKey, salt, context)
//   commitment() / check(commitment)
//   seal(counter, pt, out, final, threads) -> bytes written
//   open(counter, ct, out, final, threads) -> plaintext bytes
//   sealAsync / openAsync (same arguments) -> Promise<number>
//   sealAlloc(counter, pt, final, threads, lead) / openAlloc(counter, ct,
//     final, threads) -> Promise<Buffer>: the output is allocated (and its
//     pages first touched) by the workers (tsr_outmem), with `lead` bytes
//     left at its start for the caller's header; the event loop does the
//     argument checks, one submission and one completion.
//   fileAsync(seal, inFd, inOffset, inLength, outFd, outOffset, threads,
//             onProgress?) -> Promise<number>; cancel() (chunked_file.cc)
//   dispose()
//
// Raw mode (spec appendix): new NativeChunked(suite, aeadKey, baseNonce,
// undefined, 'raw') takes the AEAD key and base nonce directly. The spec says
// libraries should not expose it, so lib/ never does, and only the test build
// of the addon (TSR_TEST_HOOKS, binding.gyp target tessera_test) has it: the
// test suite uses it to check that encryption is deterministic against the
// Wycheproof vectors. The addon `npm install` builds refuses 'raw'.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "chunked.h"

extern "C" {
#include "../util/tsr_util.h"
#include "../pool/tsr_chunked_pool.h"
#include "../pool/tsr_pool.h"
}

namespace tsr {

double GetNumber(Napi::Env env, napi_value v, const char *name, double max) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= max) ||
      d != static_cast<double>(static_cast<uint64_t>(d)))
    Throw(env, "ERR_ARGUMENT",
          std::string(name) + " must be an integer between 0 and " + std::to_string(static_cast<uint64_t>(max)));
  return d;
}

Napi::Value ChunkError(Napi::Env env, tsr_status st, bool seal) {
  return StatusError(env, st, seal ? "encrypt chunks" : "decrypt chunks");
}

namespace {

// One seal/open request, converted at the boundary (lib/front/chunked.ts
// checks it first, with worded errors). `threads` 0 means the pool size.
struct Run {
  bool seal;
  uint64_t counter;
  Bytes in, out;  // out.data is null until the worker allocates it (alloc)
  bool final;
  bool alloc;  // the job allocates out: lead + need bytes
  size_t lead;
  void *hint;  // FreeOut's token for an allocated out
  unsigned width;
  size_t need;      // output bytes the run writes
  uint64_t chunks;  // chunks in the run
};

// (counter, input, output, final, threads), or with `alloc`
// (counter, input, final, threads[, lead]).
Run ParseRun(const Napi::CallbackInfo &info, bool seal, bool alloc = false) {
  Napi::Env env = info.Env();
  Run r{};
  r.seal = seal;
  r.alloc = alloc;
  r.counter =
      static_cast<uint64_t>(GetNumber(env, info[0], "counter", static_cast<double>(TSR_CHUNKED_MAX_CHUNKS - 1)));
  r.in = GetBytes(env, info[1], seal ? "plaintext" : "ciphertext");
  unsigned a = alloc ? 2 : 3;
  if (!alloc) r.out = GetBytes(env, info[2], "output");
  r.final = info[a].ToBoolean().Value();
  unsigned t = static_cast<unsigned>(GetNumber(env, info[a + 1], "threads", TSR_POOL_MAX));
  if (alloc && info.Length() > a + 2 && !info[a + 2].IsUndefined())
    r.lead = static_cast<size_t>(GetNumber(env, info[a + 2], "lead", 4096));
  r.width = t ? t : tsr_pool_size();
  tsr_chunked_shape shape;
  tsr_status st = tsr_chunked_run_shape(seal, r.in.len, r.final, &shape);
  if (st != TSR_OK) ThrowStatus(env, st == TSR_ERR_FORMAT ? TSR_ERR_ARGUMENT : st, "chunked run");
  r.chunks = shape.chunks;
  r.need = static_cast<size_t>(shape.outlen);
  if (!alloc) CheckOutLen(env, r.out, r.need);
  return r;
}

// background: an async job on a libuv thread, which waits while pool
// workers (at lower priority) do the work.
tsr_status Execute(ChunkedState &s, Run &r, bool background, size_t *written) {
  if (r.alloc && !r.out.data) {
    r.out.data = AllocOut(r.lead + r.need, &r.hint);
    if (!r.out.data) return TSR_ERR_NOMEM;
    r.out.len = r.lead + r.need;
    r.out.data += r.lead;  // the run writes after the caller's header room
  }
  unsigned width = r.width;
  size_t tasks = tsr_chunked_pool_tasks(r.chunks);
  if (width > tasks) width = static_cast<unsigned>(tasks);
  tsr_status st = s.Ensure(width);
  if (st != TSR_OK) return st;
  *written = r.need;
  if (r.seal)
    return tsr_chunked_pool_seal(s.ctxs.data(), width, background, s.keys->base_nonce, r.counter, r.in.data, r.in.len,
                                 r.final, r.out.data);
  return tsr_chunked_pool_open(s.ctxs.data(), width, background, s.keys->base_nonce, r.counter, r.in.data, r.in.len,
                               r.final, r.out.data, written);
}

class ChunkJob : public Napi::AsyncWorker {
 public:
  ChunkJob(Napi::Env env, std::shared_ptr<ChunkedState> state, const Run &r, bool *busy, Napi::Object owner)
      : Napi::AsyncWorker(env, "tessera:chunked"),
        deferred_(Napi::Promise::Deferred::New(env)),
        state_(std::move(state)),
        run_(r),
        busy_(busy) {
    // Inputs, outputs and the wrapper stay referenced until the job settles.
    in_ref_ = Napi::Persistent(Napi::Value(env, r.in.value));
    if (!r.alloc) out_ref_ = Napi::Persistent(Napi::Value(env, r.out.value));
    owner_ref_ = Napi::Persistent(owner);
  }
  ~ChunkJob() override {
    if (run_.alloc && run_.out.data) FreeOut(run_.out.data - run_.lead, run_.hint);  // not handed to JS
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { status_ = tsr::Execute(*state_, run_, true, &written_); }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    *busy_ = false;
    if (status_ != TSR_OK) {
      deferred_.Reject(ChunkError(env, status_, run_.seal));
    } else if (run_.alloc) {
      uint8_t *p = run_.out.data - run_.lead;
      run_.out.data = nullptr;                      // JS owns it now (or AdoptOut freed it)
      if (run_.lead) std::memset(p, 0, run_.lead);  // a reused block: no earlier bytes in the header room
      deferred_.Resolve(AdoptOut(env, p, run_.lead + written_, run_.hint));
    } else {
      deferred_.Resolve(Napi::Number::New(env, static_cast<double>(written_)));
    }
  }
  void OnError(const Napi::Error &e) override {
    *busy_ = false;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ChunkedState> state_;
  Run run_;
  bool *busy_;  // lives in the wrapper, which owner_ref_ keeps alive
  Napi::Reference<Napi::Value> in_ref_, out_ref_;
  Napi::ObjectReference owner_ref_;
  size_t written_ = 0;
  tsr_status status_ = TSR_ERR_INTERNAL;
};

class NativeChunked : public Napi::ObjectWrap<NativeChunked> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeChunked",
                       {
                           InstanceMethod<&NativeChunked::Commitment>("commitment"),
                           InstanceMethod<&NativeChunked::Check>("check"),
                           InstanceMethod<&NativeChunked::Seal>("seal"),
                           InstanceMethod<&NativeChunked::Open>("open"),
                           InstanceMethod<&NativeChunked::SealAsync>("sealAsync"),
                           InstanceMethod<&NativeChunked::OpenAsync>("openAsync"),
                           InstanceMethod<&NativeChunked::SealAlloc>("sealAlloc"),
                           InstanceMethod<&NativeChunked::OpenAlloc>("openAlloc"),
                           InstanceMethod<&NativeChunked::FileAsync>("fileAsync"),
                           InstanceMethod<&NativeChunked::Cancel>("cancel"),
                           InstanceMethod<&NativeChunked::Dispose>("dispose"),
                       });
  }

  NativeChunked(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeChunked>(info) {
    Napi::Env env = info.Env();
    int32_t suite = 0;
    if (napi_get_value_int32(env, info[0], &suite) != napi_ok || !tsr_chunked_suite_valid(suite))
      ThrowStatus(env, TSR_ERR_ALGORITHM, "chunked");
    size_t want = tsr_chunked_key_len(static_cast<tsr_chunked_suite>(suite)), klen = 0;
    const uint8_t *key = NativeKeyBytes(env, info[1], &klen);
    if (!key) {
      Bytes k = GetBytes(env, info[1], "key");
      key = k.data;
      klen = k.len;
    }
    if (klen != want) ThrowStatus(env, TSR_ERR_ARGUMENT, "chunked key");
    raw_ = info.Length() > 4 && info[4].IsString() && info[4].As<Napi::String>().Utf8Value() == "raw";
#ifndef TSR_TEST_HOOKS
    if (raw_) Throw(env, "ERR_ARGUMENT", "raw mode is not available");
#endif
    Bytes salt = GetBytes(env, info[2], raw_ ? "baseNonce" : "salt");
    if (salt.len != (raw_ ? TSR_CHUNKED_NONCE : TSR_CHUNKED_SALT)) ThrowStatus(env, TSR_ERR_ARGUMENT, "chunked salt");
    Bytes context = GetBytes(env, info[3], "context", true);
    state_ = std::make_shared<ChunkedState>();
    state_->kernel = CurrentKernel(env);
    state_->suite = static_cast<tsr_chunked_suite>(suite);
    state_->keys = static_cast<tsr_chunked_keys *>(tsr_secmem_alloc(sizeof(tsr_chunked_keys)));
    if (!state_->keys) ThrowStatus(env, TSR_ERR_NOMEM, "chunked key derivation");
    if (raw_) {
      std::memset(state_->keys, 0, sizeof(tsr_chunked_keys));
      std::memcpy(state_->keys->key, key, klen);
      std::memcpy(state_->keys->base_nonce, salt.data, TSR_CHUNKED_NONCE);
    } else {
      tsr_chunked_derive(state_->keys, state_->suite, key, salt.data, context.data, context.len);
    }
  }

 private:
  ChunkedState &State(Napi::Env env) {
    // lib/front/chunked.ts refuses these first, with worded errors.
    if (!state_) ThrowStatus(env, TSR_ERR_ARGUMENT, "chunked (disposed)");
    if (busy_) ThrowStatus(env, TSR_ERR_ARGUMENT, "chunked (busy)");
    return *state_;
  }

  ChunkedState &Derived(Napi::Env env) {
    if (raw_) ThrowStatus(env, TSR_ERR_ARGUMENT, "chunked (raw mode)");
    return State(env);
  }

  Napi::Value Commitment(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint8_t *p;
    Napi::Value out = NewBuffer(env, TSR_CHUNKED_COMMITMENT, &p);
    std::memcpy(p, Derived(env).keys->commitment, TSR_CHUNKED_COMMITMENT);  // public: it is in every ciphertext
    return out;
  }

  Napi::Value Check(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ChunkedState &s = Derived(env);
    Bytes c = GetBytes(env, info[0], "commitment");
    if (c.len != TSR_CHUNKED_COMMITMENT) ThrowStatus(env, TSR_ERR_ARGUMENT, "commitment");
    tsr_status st = tsr_chunked_check(s.keys, c.data);
    if (st != TSR_OK) ThrowStatus(env, st, "chunked ciphertext");
    return env.Undefined();
  }

  Napi::Value Sync(const Napi::CallbackInfo &info, bool seal) {
    Napi::Env env = info.Env();
    ChunkedState &s = State(env);
    Run r = ParseRun(info, seal);
    size_t written = 0;
    tsr_status st = Execute(s, r, false, &written);
    if (st != TSR_OK) throw Napi::Error(env, ChunkError(env, st, seal));
    return Napi::Number::New(env, static_cast<double>(written));
  }

  Napi::Value Async(const Napi::CallbackInfo &info, bool seal, bool alloc = false) {
    Napi::Env env = info.Env();
    State(env);
    Run r = ParseRun(info, seal, alloc);
    auto *job = new ChunkJob(env, state_, r, &busy_, Value());
    busy_ = true;
    Napi::Promise p = job->Promise();
    job->Queue();
    return p;
  }

  Napi::Value Seal(const Napi::CallbackInfo &info) { return Sync(info, true); }
  Napi::Value Open(const Napi::CallbackInfo &info) { return Sync(info, false); }
  Napi::Value SealAsync(const Napi::CallbackInfo &info) { return Async(info, true); }
  Napi::Value OpenAsync(const Napi::CallbackInfo &info) { return Async(info, false); }
  Napi::Value SealAlloc(const Napi::CallbackInfo &info) { return Async(info, true, true); }
  Napi::Value OpenAlloc(const Napi::CallbackInfo &info) { return Async(info, false, true); }

  // A whole file (chunked_file.cc); cancel() stops it before its next batch.
  Napi::Value FileAsync(const Napi::CallbackInfo &info) {
    State(info.Env());
    return ChunkedFileAsync(info, state_, &busy_, Value());
  }

  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    if (state_) __atomic_store_n(&state_->cancel, 1, __ATOMIC_RELEASE);
    return info.Env().Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo &info) {
    state_.reset();  // zeroizes now, or when the running job lets go
    return info.Env().Undefined();
  }

  std::shared_ptr<ChunkedState> state_;
  bool busy_ = false;
  bool raw_ = false;
};

Napi::Value OpenedLength(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t ctlen = static_cast<uint64_t>(GetNumber(env, info[0], "ciphertext length", 9007199254740991.0)), pt;
  tsr_status st = tsr_chunked_opened_len(ctlen, &pt);
  if (st != TSR_OK) throw Napi::Error(env, ChunkError(env, st, false));
  return Napi::Number::New(env, static_cast<double>(pt));
}

// chunkedRunShape(seal, inputLength, final) -> [status, chunks, output
// bytes]: tsr_chunked_run_shape, the one home of the chunk math, for the
// front layer's run checks.
Napi::Value RunShape(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t len = static_cast<uint64_t>(GetNumber(env, info[1], "input length", 9007199254740991.0));
  tsr_chunked_shape shape = {0, 0};
  tsr_status st = tsr_chunked_run_shape(info[0].ToBoolean().Value(), len, info[2].ToBoolean().Value(), &shape);
  Napi::Array a = Napi::Array::New(env, 3);
  a.Set(0u, Napi::Number::New(env, st));
  a.Set(1u, Napi::Number::New(env, static_cast<double>(shape.chunks)));
  a.Set(2u, Napi::Number::New(env, static_cast<double>(shape.outlen)));
  return a;
}

Napi::Value PoolSize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && !info[0].IsUndefined())
    tsr_pool_set_size(static_cast<unsigned>(GetNumber(env, info[0], "threads", TSR_POOL_MAX)));
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", Napi::Number::New(env, tsr_pool_size()));
  o.Set("cpus", Napi::Number::New(env, tsr_pool_cpus()));
  o.Set("max", Napi::Number::New(env, TSR_POOL_MAX));
  o.Set("queued", Napi::Number::New(env, static_cast<double>(tsr_pool_queued())));
  return o;
}

}  // namespace

void InitChunked(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeChunked", NativeChunked::Define(env));
  exports.Set("chunkedRunShape", Napi::Function::New(env, RunShape, "chunkedRunShape"));
  exports.Set("chunkedOpenedLength", Napi::Function::New(env, OpenedLength, "chunkedOpenedLength"));
  exports.Set("pool", Napi::Function::New(env, PoolSize, "pool"));
}

}  // namespace tsr
