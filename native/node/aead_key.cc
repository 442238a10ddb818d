// NativeKey: the engine key under lib/front/key.ts (AeadKey). A mechanical
// binding: arguments are converted to pointers and lengths and handed to
// native/message (message format v1, docs/API.md), which draws the nonce,
// writes the header and seals or opens; batches go to native/pool
// (tsr_message_pool_run) and async calls to the libuv pool. The rules for
// arguments, message headers and the nonce count live in lib/front. Key
// bytes never enter the JS heap unless exportKey() is called.
#include <cstring>
#include <cstdint>
#include <memory>
#include <vector>

#include "addon.h"

extern "C" {
#include "../pool/tsr_message_pool.h"
#include "../secmem/tsr_secmem.h"
#include "../util/tsr_util.h"
}

namespace tsr {

namespace {

// Shared by the wrapper and every in-flight async job, so dispose() while a
// job runs defers the wipe until the job lets go.
struct KeyState {
  tsr_aead_ctx *ctx = nullptr;
  tsr_aead_ctx *helper = nullptr;  // second context for split batches (JS thread only)
  ~KeyState() {                    // zeroizes (tsr_secmem_free)
    tsr_aead_ctx_free(ctx);
    tsr_aead_ctx_free(helper);
  }
};

// One sealAsync / openAsync on the libuv pool. Seal: the nonce is drawn on
// the JS thread (it owns the nonce pool) and the header written there.
class AsyncJob : public Napi::AsyncWorker {
 public:
  AsyncJob(Napi::Env env, std::shared_ptr<KeyState> key, bool seal, const Bytes &in, const Bytes &aad, size_t out_len)
      : Napi::AsyncWorker(env, "tessera:aead"),
        deferred_(Napi::Promise::Deferred::New(env)),
        key_(std::move(key)),
        seal_(seal),
        in_(in),
        aad_(aad),
        out_len_(out_len) {
    in_ref_ = Napi::Persistent(Napi::Value(env, in.value));
    if (aad.value) aad_ref_ = Napi::Persistent(Napi::Value(env, aad.value));
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  // Without this the output is allocated by the worker thread (Execute):
  // the JS thread does no large allocation and takes no page faults. With
  // it the caller's buffer is used, kept alive until the job settles, and
  // the promise resolves to the length.
  void UseCallerOutput(Napi::Env env, const Bytes &out) {
    out_ = out.data;
    caller_out_ = true;
    out_ref_ = Napi::Persistent(Napi::Value(env, out.value));
  }
  ~AsyncJob() override {
    if (out_ && !caller_out_) FreeOut(out_, out_hint_);  // not handed to JS (failure)
  }
  uint8_t header_[TSR_MESSAGE_FIXED + TSR_AEAD_NONCEBYTES_MAX];

 protected:
  void Execute() override {
    if (!caller_out_ && !(out_ = AllocOut(out_len_, &out_hint_))) {
      alloc_failed_ = true;
      return;
    }
    // A private context per job: the wrapper's contexts belong to the JS
    // thread. The key bytes are only read here.
    tsr_aead_alg alg = tsr_aead_ctx_alg(key_->ctx);
    tsr_aead_ctx *ctx =
        tsr_aead_ctx_new_kernel(alg, tsr_aead_ctx_key(key_->ctx), tsr_aead_ctx_kernel(key_->ctx), &status_);
    if (!ctx) return;
    tsr_aead_ctx_set_parallel(ctx, 0);  // one core: leave the other to the event loop
    size_t n = 0;
    if (seal_) {
      std::memcpy(out_, header_, tsr_message_header_len(alg));
      status_ = tsr_message_seal_body(ctx, out_, in_.data, in_.len, aad_.data, aad_.len);
    } else {
      status_ = tsr_message_open(ctx, out_, out_len_, in_.data, in_.len, aad_.data, aad_.len, &n);
    }
    tsr_aead_ctx_free(ctx);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (alloc_failed_) {
      deferred_.Reject(
          MakeError(env, "ERR_ARGUMENT", "cannot allocate a " + std::to_string(out_len_) + "-byte output buffer"));
    } else if (status_ != TSR_OK) {
      deferred_.Reject(StatusError(env, status_, seal_ ? "sealAsync" : "openAsync"));
    } else if (caller_out_) {
      deferred_.Resolve(Napi::Number::New(env, static_cast<double>(out_len_)));
    } else {
      uint8_t *p = out_;
      out_ = nullptr;  // owned by the JS buffer from here on
      deferred_.Resolve(AdoptOut(env, p, out_len_, out_hint_));
    }
  }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<KeyState> key_;
  bool seal_;
  Bytes in_, aad_;
  size_t out_len_;
  Napi::Reference<Napi::Value> in_ref_, aad_ref_, out_ref_;
  bool caller_out_ = false, alloc_failed_ = false;
  uint8_t *out_ = nullptr;
  void *out_hint_ = nullptr;
  tsr_status status_ = TSR_ERR_INTERNAL;
};

class NativeKey : public Napi::ObjectWrap<NativeKey> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeKey",
                       {
                           InstanceMethod<&NativeKey::Seal>("seal"),
                           InstanceMethod<&NativeKey::SealInto>("sealInto"),
                           InstanceMethod<&NativeKey::Open>("open"),
                           InstanceMethod<&NativeKey::OpenInto>("openInto"),
                           InstanceMethod<&NativeKey::SealBatch>("sealBatch"),
                           InstanceMethod<&NativeKey::OpenBatch>("openBatch"),
                           InstanceMethod<&NativeKey::SealAsync>("sealAsync"),
                           InstanceMethod<&NativeKey::OpenAsync>("openAsync"),
                           InstanceMethod<&NativeKey::Export>("exportKey"),
                           InstanceMethod<&NativeKey::Dispose>("dispose"),
#ifdef TSR_TEST_HOOKS
                           InstanceMethod<&NativeKey::TestAddress>("testAddress"),
#endif
                       });
  }

  // new NativeKey(algId, keyBytes | undefined, keyId)
  NativeKey(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeKey>(info) {
    Napi::Env env = info.Env();
    alg_ = GetAlg(env, info[0]);
    Bytes key = GetBytes(env, info[1], "key", true);
    uint32_t id = 0;
    if (napi_get_value_uint32(env, info[2], &id) != napi_ok) ThrowStatus(env, TSR_ERR_ARGUMENT, "AeadKey");
    key_id_ = id;
    tsr_status st;
    state_ = std::make_shared<KeyState>();
    if (key.value) {
      if (key.len != TSR_AEAD_KEYBYTES) ThrowStatus(env, TSR_ERR_ARGUMENT, "AeadKey");
      state_->ctx = NewContext(env, alg_, key.data, &st);
    } else {
      // Generated straight into secure memory: never on the JS heap.
      uint8_t *tmp = static_cast<uint8_t *>(tsr_secmem_alloc(TSR_AEAD_KEYBYTES));
      if (!tmp) ThrowStatus(env, TSR_ERR_NOMEM, "AeadKey.generate");
      st = tsr_random_bytes(tmp, TSR_AEAD_KEYBYTES);
      if (st == TSR_OK) {
        try {
          state_->ctx = NewContext(env, alg_, tmp, &st);
        } catch (...) {
          tsr_secmem_free(tmp);
          throw;
        }
      }
      tsr_secmem_free(tmp);
    }
    if (!state_->ctx) ThrowStatus(env, st, "AeadKey");
    header_len_ = tsr_message_header_len(alg_);
  }

  const uint8_t *KeyBytes(Napi::Env env, size_t *len) {
    *len = TSR_AEAD_KEYBYTES;
    return tsr_aead_ctx_key(Ctx(env));
  }

 private:
  tsr_aead_ctx *Ctx(Napi::Env env) {
    if (!state_) ThrowStatus(env, TSR_ERR_ARGUMENT, "AeadKey (disposed)");
    return state_->ctx;
  }

  size_t Sealed(size_t ptlen) const { return header_len_ + ptlen + TSR_AEAD_TAGBYTES; }

  // The plaintext length of a message; ERR_FORMAT below header + tag.
  size_t Opened(Napi::Env env, const Bytes &msg, const char *what) const {
    if (msg.len < header_len_ + TSR_AEAD_TAGBYTES) ThrowStatus(env, TSR_ERR_FORMAT, what);
    return msg.len - header_len_ - TSR_AEAD_TAGBYTES;
  }

  size_t DoSeal(Napi::Env env, uint8_t *out, size_t outlen, const Bytes &pt, const Bytes &aad, const char *what) {
    size_t n = 0;
    tsr_status st = tsr_message_seal(Ctx(env), GetInstance(env).nonces, key_id_, out, outlen, pt.data, pt.len, aad.data,
                                     aad.len, &n);
    if (st != TSR_OK) ThrowStatus(env, st, what);
    return n;
  }

  size_t DoOpen(Napi::Env env, uint8_t *out, size_t outlen, const Bytes &msg, const Bytes &aad, const char *what) {
    size_t n = 0;
    tsr_status st = tsr_message_open(Ctx(env), out, outlen, msg.data, msg.len, aad.data, aad.len, &n);
    if (st != TSR_OK) ThrowStatus(env, st, what);
    return n;
  }

  Napi::Value Seal(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Bytes pt = GetBytes(env, info[0], "plaintext");
    Bytes aad = GetBytes(env, info[1], "aad", true);
    uint8_t *out;
    Napi::Value buf = NewBuffer(env, Sealed(pt.len), &out);
    DoSeal(env, out, Sealed(pt.len), pt, aad, "seal");
    return buf;
  }

  Napi::Value SealInto(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Bytes out = GetBytes(env, info[0], "out");
    Bytes pt = GetBytes(env, info[1], "plaintext");
    Bytes aad = GetBytes(env, info[2], "aad", true);
    return Napi::Number::New(env, static_cast<double>(DoSeal(env, out.data, out.len, pt, aad, "sealInto")));
  }

  Napi::Value Open(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Bytes msg = GetBytes(env, info[0], "message");
    Bytes aad = GetBytes(env, info[1], "aad", true);
    size_t n = Opened(env, msg, "open");
    uint8_t *out;
    Napi::Value buf = NewBuffer(env, n, &out);
    DoOpen(env, out, n, msg, aad, "open");
    return buf;
  }

  Napi::Value OpenInto(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Bytes out = GetBytes(env, info[0], "out");
    Bytes msg = GetBytes(env, info[1], "message");
    Bytes aad = GetBytes(env, info[2], "aad", true);
    return Napi::Number::New(env, static_cast<double>(DoOpen(env, out.data, out.len, msg, aad, "openInto")));
  }

  // The elements of a JS array of Uint8Array, as pointers and lengths.
  void Elements(Napi::Env env, napi_value arr, std::vector<const uint8_t *> &ptrs, std::vector<size_t> &lens) {
    uint32_t n = 0;
    if (napi_get_array_length(env, arr, &n) != napi_ok) ThrowStatus(env, TSR_ERR_ARGUMENT, "batch");
    ptrs.resize(n);
    lens.resize(n);
    for (uint32_t i = 0; i < n; i++) {
      napi_value v;
      Bytes b;
      napi_get_element(env, arr, i, &v);
      if (!TryBytes(env, v, &b)) b = GetBytes(env, v, "batch element");
      ptrs[i] = b.data;
      lens[i] = b.len;
    }
  }

  // Outputs go back to back into one ArrayBuffer; lib/aead.ts cuts the
  // views (cheaper in JIT code than one N-API typed array per message).
  Napi::Value Batch(const Napi::CallbackInfo &info, bool seal) {
    Napi::Env env = info.Env();
    const char *what = seal ? "sealBatch" : "openBatch";
    tsr_aead_ctx *ctx = Ctx(env);
    std::vector<const uint8_t *> ptrs;
    std::vector<size_t> lens;
    Elements(env, info[0], ptrs, lens);
    Bytes aad = GetBytes(env, info[1], "aad", true);
    size_t n = ptrs.size();
    std::vector<size_t> off(n + 1);
    tsr_status st = tsr_message_batch_layout(alg_, seal, lens.data(), n, off.data());
    if (st != TSR_OK) ThrowStatus(env, st, what);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, off[n]);
    tsr_message_batch b = {ptrs.data(), lens.data(), n,      static_cast<uint8_t *>(ab.Data()),
                           off.data(),  aad.data,    aad.len};
    if (seal && (st = tsr_message_batch_headers(&b, alg_, key_id_, GetInstance(env).nonces)) != TSR_OK)
      ThrowStatus(env, st, what);
    size_t failed = 0;
    st = tsr_message_pool_run(ctx, &state_->helper, &b, seal, &failed);
    if (st != TSR_OK) {
      tsr_memzero(ab.Data(), off[n]);  // all or nothing: no plaintext of any message
      ThrowStatus(env, st, what, seal ? -1 : static_cast<long long>(failed));
    }
    return ab;
  }

  Napi::Value SealBatch(const Napi::CallbackInfo &info) { return Batch(info, true); }
  Napi::Value OpenBatch(const Napi::CallbackInfo &info) { return Batch(info, false); }

  // sealAsync(pt, aad, out?): with out, the message is written there and
  // the promise resolves to its length.
  Napi::Value SealAsync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Ctx(env);
    Bytes pt = GetBytes(env, info[0], "plaintext");
    Bytes aad = GetBytes(env, info[1], "aad", true);
    Bytes out = GetBytes(env, info[2], "out", true);
    if (out.value) CheckOutLen(env, out, Sealed(pt.len));
    auto *job = new AsyncJob(env, state_, true, pt, aad, Sealed(pt.len));
    uint8_t nonce[TSR_AEAD_NONCEBYTES_MAX];
    tsr_status st = tsr_nonce_take(GetInstance(env).nonces, nonce, tsr_aead_nonce_len(alg_));
    if (st != TSR_OK) {
      delete job;
      ThrowStatus(env, st, "sealAsync");
    }
    tsr_message_write_header(job->header_, alg_, key_id_, nonce);
    if (out.value) job->UseCallerOutput(env, out);
    Napi::Promise p = job->Promise();
    job->Queue();
    return p;
  }

  // openAsync(msg, aad, out?)
  Napi::Value OpenAsync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Ctx(env);
    Bytes msg = GetBytes(env, info[0], "message");
    Bytes aad = GetBytes(env, info[1], "aad", true);
    Bytes out = GetBytes(env, info[2], "out", true);
    size_t n = Opened(env, msg, "openAsync");
    if (out.value) CheckOutLen(env, out, n);
    auto *job = new AsyncJob(env, state_, false, msg, aad, n);
    if (out.value) job->UseCallerOutput(env, out);
    Napi::Promise p = job->Promise();
    job->Queue();
    return p;
  }

  Napi::Value Export(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    const uint8_t *k = tsr_aead_ctx_key(Ctx(env));
    uint8_t *out;
    Napi::Value buf = NewBuffer(env, TSR_AEAD_KEYBYTES, &out);
    std::memcpy(out, k, TSR_AEAD_KEYBYTES);
    return buf;
  }

  Napi::Value Dispose(const Napi::CallbackInfo &info) {
    state_.reset();  // wipes now, or when the last async job lets go
    return info.Env().Undefined();
  }

#ifdef TSR_TEST_HOOKS
  // Test hook: where the key bytes live (test build only, see secure.cc).
  Napi::Value TestAddress(const Napi::CallbackInfo &info) {
    return Napi::BigInt::New(info.Env(),
                             static_cast<uint64_t>(reinterpret_cast<uintptr_t>(tsr_aead_ctx_key(Ctx(info.Env())))));
  }
#endif

  std::shared_ptr<KeyState> state_;
  tsr_aead_alg alg_;
  uint32_t key_id_ = 0;
  size_t header_len_ = 18;
};

}  // namespace

const uint8_t *NativeKeyBytes(Napi::Env env, napi_value v, size_t *len) {
  Napi::Value val(env, v);
  Instance &inst = GetInstance(env);
  if (!val.IsObject() || inst.key_ctor.IsEmpty() || !val.As<Napi::Object>().InstanceOf(inst.key_ctor.Value()))
    return nullptr;
  return NativeKey::Unwrap(val.As<Napi::Object>())->KeyBytes(env, len);
}

void InitKey(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = NativeKey::Define(env);
  GetInstance(env).key_ctor = Napi::Persistent(ctor);
  exports.Set("NativeKey", ctor);
}

}  // namespace tsr
