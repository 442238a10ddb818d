// NativeKey: the secure-memory key behind lib/aead.ts AeadKey. Seals and
// opens message format v1 (docs/API.md) with random nonces, counts
// nonce use, batches small messages into one call and runs large ones on
// the libuv pool. Key bytes never enter the JS heap unless exportKey() is
// called.
#include <cstring>
#include <cstdint>
#include <memory>
#include <vector>

#include "addon.h"

extern "C" {
#include "../core/tsr_util.h"
#include "../pool/tsr_pool.h"
#include "../secmem/tsr_secmem.h"
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

// Large batches are split between the calling thread and the tsr_pool helper,
// each with its own context (an EVP context serves one thread at a time).
// Below kSplitBatch messages the hop to the helper costs more than it saves.
constexpr size_t kSplitBatch = 256;

struct RangeResult {
  size_t index = SIZE_MAX;  // first failing message, SIZE_MAX if none
  tsr_status status = TSR_OK;
};

// Runs fn(ctx, begin, end) over [0, n), in two halves on tsr_pool when n is
// large (the pool runs both halves here if its helper is busy).
template <class F>
RangeResult SplitRun(KeyState &ks, size_t n, F fn) {
  if (n < kSplitBatch || !ks.helper) return fn(ks.ctx, 0, n);
  struct Half {
    F *fn;
    tsr_aead_ctx *ctx;
    size_t b, e;
    RangeResult r;
  };
  size_t mid = n / 2;
  Half lo{&fn, ks.ctx, 0, mid, {}}, hi{&fn, ks.helper, mid, n, {}};
  tsr_pool_pair(
      [](void *arg) {
        auto *h = static_cast<Half *>(arg);
        h->r = (*h->fn)(h->ctx, h->b, h->e);
      },
      &lo, &hi);
  return lo.r.index != SIZE_MAX ? lo.r : hi.r;
}

const char *AlgName(tsr_aead_alg alg) {
  switch (alg) {
    case TSR_AEAD_AES256GCM:
      return "aes-256-gcm";
    case TSR_AEAD_CHACHA20POLY1305:
      return "chacha20-poly1305";
    case TSR_AEAD_XCHACHA20POLY1305:
      return "xchacha20-poly1305";
    default:
      return "xaes-256-gcm";
  }
}

// Parses a message and checks it belongs to this key. The header fields are
// checked in wire order, each before the length that depends on it, so a
// flipped byte gets the same error whatever the message length.
tsr_format_msg ParseMessage(Napi::Env env, const Bytes &in, tsr_aead_alg alg, uint32_t key_id) {
  if (in.len >= 1 && in.data[0] != TSR_FORMAT_V1)
    Throw(env, "ERR_FORMAT", "unknown message format version " + std::to_string(in.data[0]) + " (expected 1)");
  if (in.len >= 2 && !tsr_aead_valid(in.data[1]))
    Throw(env, "ERR_ALGORITHM", "message names an unknown algorithm id " + std::to_string(in.data[1]));
  if (in.len >= 2 && in.data[1] != alg)
    Throw(env, "ERR_ALGORITHM",
          std::string("message was sealed with ") + AlgName(static_cast<tsr_aead_alg>(in.data[1])) + ", this key is " +
              AlgName(alg));
  tsr_format_msg m;
  if (tsr_format_parse(in.data, in.len, &m) != TSR_OK)
    Throw(env, "ERR_FORMAT",
          "message too short: " + std::to_string(in.len) + " bytes (at least " +
              std::to_string(tsr_format_header_len(alg) + TSR_AEAD_TAGBYTES) + ")");
  if (m.key_id != key_id)
    Throw(
        env, "ERR_KEY_MISMATCH",
        "message was sealed under key id " + std::to_string(m.key_id) + ", this key has id " + std::to_string(key_id));
  return m;
}

// One sealAsync / openAsync on the libuv pool. Seal: `nonce_` is drawn on
// the JS thread (it owns the nonce pool). Open: `msg_` is the parsed message,
// pointing into the input, which stays referenced until the job settles.
class AsyncJob : public Napi::AsyncWorker {
 public:
  AsyncJob(Napi::Env env, std::shared_ptr<KeyState> key, bool seal, const Bytes &in, const Bytes &aad, uint32_t key_id,
           size_t out_len)
      : Napi::AsyncWorker(env, "tessera:aead"),
        deferred_(Napi::Promise::Deferred::New(env)),
        key_(std::move(key)),
        seal_(seal),
        in_(in),
        aad_(aad),
        key_id_(key_id),
        out_len_(out_len) {
    in_ref_ = Napi::Persistent(Napi::Value(env, in.value));
    if (aad.value) aad_ref_ = Napi::Persistent(Napi::Value(env, aad.value));
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  // Without this the output is allocated by the worker thread (Execute):
  // the JS thread does no large allocation and takes no page faults. With
  // it (sealIntoAsync / openIntoAsync) the caller's buffer is used, kept
  // alive until the job settles, and the promise resolves to the length.
  void UseCallerOutput(Napi::Env env, const Bytes &out) {
    out_ = out.data;
    caller_out_ = true;
    out_ref_ = Napi::Persistent(Napi::Value(env, out.value));
  }
  ~AsyncJob() override {
    if (out_ && !caller_out_) FreeOut(out_, out_hint_);  // not handed to JS (failure)
  }
  uint8_t nonce_[TSR_AEAD_NONCEBYTES_MAX];
  tsr_format_msg msg_;

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
    if (seal_) {
      size_t h = tsr_format_write_header(out_, alg, key_id_, nonce_);
      status_ = tsr_aead_seal(ctx, out_ + h, nonce_, in_.data, in_.len, out_, h, aad_.data, aad_.len);
    } else {
      status_ = tsr_aead_open(ctx, out_, msg_.nonce, msg_.sealed, msg_.sealed_len, in_.data, msg_.header_len, aad_.data,
                              aad_.len);
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
  uint32_t key_id_;
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
                           InstanceMethod<&NativeKey::Used>("used"),
#ifdef TSR_TEST_HOOKS
                           InstanceMethod<&NativeKey::TestAddress>("testAddress"),
#endif
                       });
  }

  // new NativeKey(algId, keyBytes | undefined, keyId, nonceLimit: bigint)
  NativeKey(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeKey>(info) {
    Napi::Env env = info.Env();
    alg_ = GetAlg(env, info[0]);
    Bytes key = GetBytes(env, info[1], "key", true);
    // lib/aead.ts validates these; the checks here keep the raw addon from
    // misbehaving when called directly.
    double id = 0;
    if (napi_get_value_double(env, info[2], &id) != napi_ok || !(id >= 0 && id <= 4294967295.0) ||
        id != (double)(uint32_t)id)
      Throw(env, "ERR_ARGUMENT", "keyId must be a uint32");
    key_id_ = static_cast<uint32_t>(id);
    bool lossless = false;
    if (napi_get_value_bigint_uint64(env, info[3], &limit_, &lossless) != napi_ok || !lossless)
      Throw(env, "ERR_ARGUMENT", "nonceLimit must be a bigint between 0 and 2^64 - 1");
    tsr_status st;
    state_ = std::make_shared<KeyState>();
    if (key.value) {
      CheckLen(env, key, TSR_AEAD_KEYBYTES, "ERR_KEY_LENGTH", "key");
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
    nonce_len_ = tsr_aead_nonce_len(alg_);
    header_len_ = tsr_format_header_len(alg_);
  }

  const uint8_t *KeyBytes(Napi::Env env, size_t *len) {
    *len = TSR_AEAD_KEYBYTES;
    return tsr_aead_ctx_key(Ctx(env));
  }

 private:
  tsr_aead_ctx *Ctx(Napi::Env env) {
    if (!state_) Throw(env, "ERR_DISPOSED", "AeadKey has been disposed");
    return state_->ctx;
  }

  // The helper context for split batches, made on first use.
  void PrepareSplit(Napi::Env env, size_t n) {
    if (n < kSplitBatch || state_->helper) return;
    tsr_status st;
    state_->helper =
        tsr_aead_ctx_new_kernel(alg_, tsr_aead_ctx_key(state_->ctx), tsr_aead_ctx_kernel(state_->ctx), &st);
    if (!state_->helper) ThrowStatus(env, st, "batch");
  }

  // Reserves n nonces against the configured bound (NIST SP 800-38D
  // section 8.3: at most 2^32 random 96-bit nonces per key).
  void Reserve(Napi::Env env, uint64_t n) {
    if (n > limit_ - used_)  // used_ <= limit_ always holds
      Throw(env, "ERR_NONCE_LIMIT",
            "nonce limit reached: this key sealed " + std::to_string(used_) + " messages (limit " +
                std::to_string(limit_) + "); rotate the key");
    used_ += n;
  }

  // Writes one message into out (which holds header_len + pt.len + 16).
  void SealOne(Napi::Env env, tsr_aead_ctx *ctx, uint8_t *out, const uint8_t *pt, size_t ptlen, const Bytes &aad) {
    uint8_t nonce[TSR_AEAD_NONCEBYTES_MAX];
    RandomNonce(env, nonce, nonce_len_);
    size_t h = tsr_format_write_header(out, alg_, key_id_, nonce);
    tsr_status st = tsr_aead_seal(ctx, out + h, nonce, pt, ptlen, out, h, aad.data, aad.len);
    if (st != TSR_OK) ThrowStatus(env, st, "seal");
  }

  Napi::Value Seal(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    tsr_aead_ctx *ctx = Ctx(env);
    Bytes pt = GetBytes(env, info[0], "plaintext");
    Bytes aad = GetBytes(env, info[1], "aad", true);
    Reserve(env, 1);
    uint8_t *out;
    Napi::Value buf = NewBuffer(env, header_len_ + pt.len + TSR_AEAD_TAGBYTES, &out);
    SealOne(env, ctx, out, pt.data, pt.len, aad);
    return buf;
  }

  // In place means the plaintext sits where the ciphertext goes, right
  // after the header; the header itself must not cover the plaintext.
  void CheckSealOut(Napi::Env env, const Bytes &out, const Bytes &pt, const Bytes &aad) {
    size_t h = header_len_;
    Bytes body{out.len >= h ? out.data + h : out.data, out.len >= h ? out.len - h : 0, nullptr};
    Bytes head{out.data, out.len < h ? out.len : h, nullptr};
    CheckOut(env, out, h + pt.len + TSR_AEAD_TAGBYTES, nullptr, &aad);
    CheckOut(env, head, head.len, nullptr, &pt);
    CheckOut(env, body, pt.len + TSR_AEAD_TAGBYTES, &pt, nullptr);
  }

  // In place means the plaintext goes where the ciphertext starts.
  void CheckOpenOut(Napi::Env env, const Bytes &out, const Bytes &msg, const tsr_format_msg &m, const Bytes &aad) {
    size_t n = m.sealed_len - TSR_AEAD_TAGBYTES;
    Bytes sealed{const_cast<uint8_t *>(m.sealed), m.sealed_len, nullptr};
    Bytes head{msg.data, m.header_len, nullptr};
    CheckOut(env, out, n, &sealed, &aad);
    CheckOut(env, out, n, nullptr, &head);
  }

  Napi::Value SealInto(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    tsr_aead_ctx *ctx = Ctx(env);
    Bytes out = GetBytes(env, info[0], "out");
    Bytes pt = GetBytes(env, info[1], "plaintext");
    Bytes aad = GetBytes(env, info[2], "aad", true);
    CheckSealOut(env, out, pt, aad);
    Reserve(env, 1);
    SealOne(env, ctx, out.data, pt.data, pt.len, aad);
    return Napi::Number::New(env, static_cast<double>(header_len_ + pt.len + TSR_AEAD_TAGBYTES));
  }

  Napi::Value Open(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    tsr_aead_ctx *ctx = Ctx(env);
    Bytes msg = GetBytes(env, info[0], "message");
    Bytes aad = GetBytes(env, info[1], "aad", true);
    tsr_format_msg m = ParseMessage(env, msg, alg_, key_id_);
    uint8_t *out;
    Napi::Value buf = NewBuffer(env, m.sealed_len - TSR_AEAD_TAGBYTES, &out);
    tsr_status st = tsr_aead_open(ctx, out, m.nonce, m.sealed, m.sealed_len, msg.data, m.header_len, aad.data, aad.len);
    if (st != TSR_OK) ThrowStatus(env, st, "open");
    return buf;
  }

  Napi::Value OpenInto(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    tsr_aead_ctx *ctx = Ctx(env);
    Bytes out = GetBytes(env, info[0], "out");
    Bytes msg = GetBytes(env, info[1], "message");
    Bytes aad = GetBytes(env, info[2], "aad", true);
    tsr_format_msg m = ParseMessage(env, msg, alg_, key_id_);
    CheckOpenOut(env, out, msg, m, aad);
    tsr_status st =
        tsr_aead_open(ctx, out.data, m.nonce, m.sealed, m.sealed_len, msg.data, m.header_len, aad.data, aad.len);
    if (st != TSR_OK) ThrowStatus(env, st, "openInto");
    return Napi::Number::New(env, static_cast<double>(m.sealed_len - TSR_AEAD_TAGBYTES));
  }

  // Collects the Uint8Array elements of a JS array. The fast path makes
  // two N-API calls per element; the name for an error is built only when
  // an element is refused.
  std::vector<Bytes> Elements(Napi::Env env, napi_value arr, const char *what) {
    bool is_array = false;
    napi_is_array(env, arr, &is_array);
    if (!is_array) Throw(env, "ERR_ARGUMENT", std::string(what) + " must be an array of Uint8Array");
    uint32_t n;
    napi_get_array_length(env, arr, &n);
    std::vector<Bytes> items(n);
    for (uint32_t i = 0; i < n; i++) {
      napi_value v;
      napi_get_element(env, arr, i, &v);
      if (!TryBytes(env, v, &items[i])) {
        std::string name = std::string(what) + "[" + std::to_string(i) + "]";
        items[i] = GetBytes(env, v, name.c_str());
      }
    }
    return items;
  }

  // Outputs go back to back into one ArrayBuffer; lib/aead.ts cuts the
  // views (cheaper in JIT code than one N-API typed array per message).
  Napi::Value SealBatch(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Ctx(env);
    std::vector<Bytes> items = Elements(env, info[0], "messages");
    Bytes aad = GetBytes(env, info[1], "aad", true);
    size_t n = items.size();
    std::vector<size_t> offs(n + 1, 0);
    for (size_t i = 0; i < n; i++) offs[i + 1] = offs[i] + header_len_ + items[i].len + TSR_AEAD_TAGBYTES;
    PrepareSplit(env, n);
    Reserve(env, n);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, offs.back());
    uint8_t *base = static_cast<uint8_t *>(ab.Data());
    // Nonces and headers here (the nonce pool belongs to this thread), then
    // the sealing, possibly split across two threads.
    uint8_t nonce[TSR_AEAD_NONCEBYTES_MAX];
    for (size_t i = 0; i < n; i++) {
      RandomNonce(env, nonce, nonce_len_);
      tsr_format_write_header(base + offs[i], alg_, key_id_, nonce);
    }
    const size_t h = header_len_;
    RangeResult r = SplitRun(*state_, n, [&](tsr_aead_ctx *c, size_t b, size_t e) {
      RangeResult res;
      for (size_t i = b; i < e; i++) {
        uint8_t *m = base + offs[i];
        tsr_status st =
            tsr_aead_seal(c, m + h, m + TSR_FORMAT_FIXED, items[i].data, items[i].len, m, h, aad.data, aad.len);
        if (st != TSR_OK) return RangeResult{i, st};
      }
      return res;
    });
    if (r.index != SIZE_MAX) ThrowStatus(env, r.status, "sealBatch");
    return ab;
  }

  Napi::Value OpenBatch(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Ctx(env);
    std::vector<Bytes> items = Elements(env, info[0], "messages");
    Bytes aad = GetBytes(env, info[1], "aad", true);
    size_t n = items.size();
    std::vector<tsr_format_msg> msgs(n);
    std::vector<size_t> offs(n + 1, 0);
    for (size_t i = 0; i < n; i++) {
      msgs[i] = ParseMessage(env, items[i], alg_, key_id_);
      offs[i + 1] = offs[i] + msgs[i].sealed_len - TSR_AEAD_TAGBYTES;
    }
    PrepareSplit(env, n);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, offs.back());
    uint8_t *base = static_cast<uint8_t *>(ab.Data());
    RangeResult r = SplitRun(*state_, n, [&](tsr_aead_ctx *c, size_t b, size_t e) {
      for (size_t i = b; i < e; i++) {
        const tsr_format_msg &m = msgs[i];
        tsr_status st = tsr_aead_open(c, base + offs[i], m.nonce, m.sealed, m.sealed_len, items[i].data, m.header_len,
                                      aad.data, aad.len);
        if (st != TSR_OK) return RangeResult{i, st};
      }
      return RangeResult{};
    });
    if (r.index != SIZE_MAX) {
      // All or nothing: every message's plaintext is wiped.
      tsr_memzero(base, offs.back());
      if (r.status == TSR_ERR_AUTH)
        Throw(env, "ERR_AUTH", "openBatch: message " + std::to_string(r.index) + " failed authentication");
      ThrowStatus(env, r.status, "openBatch");
    }
    return ab;
  }

  // sealAsync(pt, aad, out?): with out, the message is written there and
  // the promise resolves to its length.
  Napi::Value SealAsync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Ctx(env);
    Bytes pt = GetBytes(env, info[0], "plaintext");
    Bytes aad = GetBytes(env, info[1], "aad", true);
    Bytes out = GetBytes(env, info[2], "out", true);
    if (out.value) CheckSealOut(env, out, pt, aad);
    Reserve(env, 1);
    auto *job = new AsyncJob(env, state_, true, pt, aad, key_id_, header_len_ + pt.len + TSR_AEAD_TAGBYTES);
    RandomNonce(env, job->nonce_, nonce_len_);
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
    tsr_format_msg m = ParseMessage(env, msg, alg_, key_id_);
    if (out.value) CheckOpenOut(env, out, msg, m, aad);
    auto *job = new AsyncJob(env, state_, false, msg, aad, key_id_, m.sealed_len - TSR_AEAD_TAGBYTES);
    job->msg_ = m;
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

  Napi::Value Used(const Napi::CallbackInfo &info) { return Napi::BigInt::New(info.Env(), used_); }

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
  uint64_t used_ = 0, limit_ = 0;
  size_t nonce_len_ = 12, header_len_ = 18;
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
