// Module entry, the TesseraError bridge, argument conversion and output memory.
#include "addon.h"

#include <cstdlib>
#include <cstring>

extern "C" {
#include "../util/tsr_util.h"
#include "../pool/tsr_outmem.h"
#include "../secmem/tsr_secmem.h"
}

namespace tsr {

Instance::~Instance() {
  for (auto *c : raw) tsr_aead_ctx_free(c);
  tsr_nonce_pool_free(nonces);
}

Instance &GetInstance(Napi::Env env) {
  return *env.GetInstanceData<Instance>();
}

Napi::Value MakeError(Napi::Env env, const char *code, const std::string &message) {
  Instance &inst = GetInstance(env);
  if (inst.error_ctor.IsEmpty()) return Napi::Error::New(env, std::string(code) + ": " + message).Value();
  return inst.error_ctor.New({Napi::String::New(env, code), Napi::String::New(env, message)});
}

void Throw(Napi::Env env, const char *code, const std::string &message) {
  throw Napi::Error(env, MakeError(env, code, message));
}

Napi::Value StatusError(Napi::Env env, tsr_status st, const char *what, long long index) {
  Instance &inst = GetInstance(env);
  if (inst.status_fn.IsEmpty())
    return Napi::Error::New(env, std::string(what) + ": status " + std::to_string(st)).Value();
  Napi::Value detail = env.Undefined();
  if (st == TSR_ERR_BACKEND) {
    tsr_kernel k;
    const char *why = "the native kernel cannot run on this CPU";
    tsr_kernel_default(&k, &why);
    detail = Napi::String::New(env, why);
  } else if (index >= 0) {
    detail = Napi::Number::New(env, static_cast<double>(index));
  }
  return inst.status_fn.Call({Napi::Number::New(env, st), Napi::String::New(env, what), detail});
}

void ThrowStatus(Napi::Env env, tsr_status st, const char *what, long long index) {
  throw Napi::Error(env, StatusError(env, st, what, index));
}

// N-API calls that fail may leave an exception pending; ours replaces it.
static void ClearPending(napi_env env) {
  bool pending;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
}

static const char *TypeName(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  switch (t) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return "boolean";
    case napi_number:
      return "number";
    case napi_string:
      return "string";
    case napi_symbol:
      return "symbol";
    case napi_function:
      return "function";
    case napi_bigint:
      return "bigint";
    default:
      break;
  }
  bool is;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) return "a typed array other than Uint8Array";
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) return "ArrayBuffer";
  if (napi_is_dataview(env, v, &is) == napi_ok && is) return "DataView";
  return "object";
}

bool TryBytes(napi_env env, napi_value v, Bytes *out) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &out->len, &data, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    ClearPending(env);
    return false;
  }
  out->data = static_cast<uint8_t *>(data);
  out->value = v;
  return true;
}

// The front layer (lib/front/args.ts) has refused non-Uint8Array, shared and
// detached buffers with worded errors; this is the conversion, and a
// refusal of anything that has no bytes to point at.
Bytes GetBytes(Napi::Env env, napi_value v, const char *name, bool optional) {
  Bytes b;
  if (TryBytes(env, v, &b)) return b;
  if (optional) {
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t == napi_undefined || t == napi_null) return Bytes{};
  }
  Throw(env, "ERR_ARGUMENT", std::string(name) + " must be a Uint8Array (got " + TypeName(env, v) + ")");
}

tsr_aead_alg GetAlg(Napi::Env env, napi_value v) {
  int32_t id = 0;
  if (napi_get_value_int32(env, v, &id) != napi_ok || !tsr_aead_valid(id)) ThrowStatus(env, TSR_ERR_ALGORITHM, "aead");
  return static_cast<tsr_aead_alg>(id);
}

void CheckOutLen(Napi::Env env, const Bytes &out, size_t need) {
  if (out.len < need)
    Throw(env, "ERR_ARGUMENT",
          "output buffer too small: need " + std::to_string(need) + " bytes (got " + std::to_string(out.len) + ")");
}

// Output memory (docs/API.md "Output memory"). Outputs of TSR_OUTMEM_MIN bytes
// and more come from tsr_outmem: resident blocks reused across calls, handed
// to JS as external buffers whose finalizer returns them. Smaller outputs
// come from Node's own allocator (napi_create_buffer: uninitialized memory
// from malloc), which reuses heap memory for them without page faults.
// Node runs an external buffer's finalizer on a later event-loop turn
// (node_buffer.cc defers it with SetImmediateThreadsafe), so a synchronous
// loop that never yields gets no block back: JS-thread allocations are
// capped (blocks lent plus cached within the tsr_outmem limit) and past the
// cap come from Node's allocator. Async jobs allocate on the worker, uncapped
// (their promises settle on later turns, so their finalizers do run).
// V8 counts the bytes of every ArrayBuffer backing store, external ones
// included, in its external memory (process.memoryUsage().external and
// .arrayBuffers) and paces its GCs by it, so nothing more is reported with
// napi_adjust_external_memory: that would count the same bytes twice, and
// V8 13 aborts the process if the counter it keeps ever goes negative.
// (Measured and dropped: MADV_HUGEPAGE, which stalled on compaction here.)
uint8_t *AllocOut(size_t len, void **hint) {
  if (len < TSR_OUTMEM_MIN) {
    *hint = nullptr;
    return static_cast<uint8_t *>(std::malloc(len ? len : 1));
  }
  size_t cap = 0;
  uint8_t *p = tsr_outmem_alloc(len, &cap, 0);
  *hint = reinterpret_cast<void *>(cap);
  return p;
}

void FreeOut(uint8_t *p, void *hint) {
  size_t cap = reinterpret_cast<size_t>(hint);
  if (cap == 0)
    std::free(p);
  else
    tsr_outmem_free(p, cap);
}

static void FinalizeOut(napi_env, void *data, void *hint) {
  FreeOut(static_cast<uint8_t *>(data), hint);
}

Napi::Value AdoptOut(Napi::Env env, uint8_t *p, size_t len, void *hint) {
  napi_value v;
  if (napi_create_external_buffer(env, len, p, FinalizeOut, hint, &v) != napi_ok) {
    ClearPending(env);
    FreeOut(p, hint);
    Throw(env, "ERR_INTERNAL", "cannot wrap a " + std::to_string(len) + "-byte output buffer");
  }
  return Napi::Value(env, v);
}

Napi::Value NewBuffer(Napi::Env env, size_t len, uint8_t **data) {
  if (len >= TSR_OUTMEM_MIN) {
    size_t cap = 0;
    if (uint8_t *p = tsr_outmem_alloc(len, &cap, 1)) {
      *data = p;
      return AdoptOut(env, p, len, reinterpret_cast<void *>(cap));
    }
  }
  napi_value v;
  void *p = nullptr;
  if (napi_create_buffer(env, len, &p, &v) != napi_ok) {
    ClearPending(env);
    Throw(env, "ERR_ARGUMENT", "cannot allocate a " + std::to_string(len) + "-byte output buffer");
  }
  *data = static_cast<uint8_t *>(p);
  return Napi::Value(env, v);
}

// allocOutput(n): an output Buffer from NewBuffer (lib/backend/native.ts
// uses it for chunked outputs of 32 MiB and more; smaller ones it makes with
// Buffer.allocUnsafeSlow, the same allocator without the call).
// outputMemory([limitBytes]): tsr_outmem's counters (and a new limit; 0
// restores the default). lib/aead.ts outputMemory().
static Napi::Value OutputMemory(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    double d;
    if (napi_get_value_double(env, info[0], &d) != napi_ok || !(d >= 0 && d <= 9007199254740991.0) ||
        d != static_cast<double>(static_cast<size_t>(d)))
      Throw(env, "ERR_ARGUMENT", "limit must be a non-negative integer number of bytes");
    tsr_outmem_set_limit(static_cast<size_t>(d));
  }
  tsr_outmem_stats st;
  tsr_outmem_get_stats(&st);
  Napi::Object o = Napi::Object::New(env);
  o.Set("limit", Napi::Number::New(env, static_cast<double>(st.limit)));
  o.Set("cached", Napi::Number::New(env, static_cast<double>(st.cached)));
  o.Set("lent", Napi::Number::New(env, static_cast<double>(st.lent)));
  o.Set("reused", Napi::Number::New(env, static_cast<double>(st.reused)));
  o.Set("mapped", Napi::Number::New(env, static_cast<double>(st.mapped)));
  o.Set("unmapped", Napi::Number::New(env, static_cast<double>(st.unmapped)));
  o.Set("minBytes", Napi::Number::New(env, static_cast<double>(TSR_OUTMEM_MIN)));
  return o;
}

static Napi::Value AllocOutput(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  double d;
  if (napi_get_value_double(env, info[0], &d) != napi_ok || !(d >= 0 && d <= 9007199254740991.0) ||
      d != static_cast<double>(static_cast<size_t>(d)))
    Throw(env, "ERR_ARGUMENT", "output length must be a non-negative integer");
  uint8_t *p;
  return NewBuffer(env, static_cast<size_t>(d), &p);
}

// setErrors(TesseraError, statusError): how the binding makes its errors.
static Napi::Value SetErrors(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "setErrors expects a constructor and a function");
  GetInstance(env).error_ctor = Napi::Persistent(info[0].As<Napi::Function>());
  GetInstance(env).status_fn = Napi::Persistent(info[1].As<Napi::Function>());
  return env.Undefined();
}

tsr_kernel CurrentKernel(Napi::Env env) {
  Instance &inst = GetInstance(env);
  if (inst.kernel_set) return inst.kernel;
  tsr_kernel k;
  const char *why;
  if (tsr_kernel_default(&k, &why) != 0) Throw(env, "ERR_BACKEND", why);
  return k;
}

tsr_aead_ctx *NewContext(Napi::Env env, tsr_aead_alg alg, const uint8_t *key, tsr_status *st) {
  tsr_kernel k = CurrentKernel(env);
  return tsr_aead_ctx_new_kernel(alg, key, &k, st);
}

// setKernel(name): the kernel of contexts made from now on in this instance
// ('auto' | 'vaes512' | 'vaes256' | 'aesni' | 'openssl'); keys made before
// keep theirs. The raw API's cached contexts are dropped.
static Napi::Value SetKernel(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) Throw(env, "ERR_ARGUMENT", "kernel must be a string");
  std::string name = info[0].As<Napi::String>();
  tsr_tier t = tsr_kernel_parse(name.c_str());
  if (t == TSR_TIER_INVALID)
    Throw(env, "ERR_BACKEND",
          "unknown native kernel '" + name + "' (expected auto, vaes512, vaes256, aesni or openssl)");
  tsr_kernel k;
  const char *missing;
  if (tsr_kernel_resolve(t, &k, &missing) != 0)
    Throw(env, "ERR_BACKEND", "native kernel " + name + ": this CPU lacks " + missing);
  Instance &inst = GetInstance(env);
  for (auto &c : inst.raw) {
    tsr_aead_ctx_free(c);
    c = nullptr;
  }
  inst.kernel = k;
  inst.kernel_set = true;
  return env.Undefined();
}

// kernels(): { 'aes-256-gcm': tier, ... } for contexts made now.
static Napi::Value Kernels(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  tsr_kernel k = CurrentKernel(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("aes-256-gcm", tsr_kernel_name(&k, 0));
  o.Set("chacha20-poly1305", tsr_kernel_name(&k, 1));
  o.Set("xchacha20-poly1305", tsr_kernel_name(&k, 1));
  o.Set("xaes-256-gcm", tsr_kernel_name(&k, 0));
  return o;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto *inst = new Instance();
  env.SetInstanceData<Instance>(inst);
  inst->nonces = tsr_nonce_pool_new();
  exports.Set("setErrors", Napi::Function::New(env, SetErrors, "setErrors"));
  exports.Set("allocOutput", Napi::Function::New(env, AllocOutput, "allocOutput"));
  exports.Set("outputMemory", Napi::Function::New(env, OutputMemory, "outputMemory"));
  exports.Set("setKernel", Napi::Function::New(env, SetKernel, "setKernel"));
  exports.Set("kernels", Napi::Function::New(env, Kernels, "kernels"));
  InitRaw(env, exports);
  InitKey(env, exports);
  InitChunked(env, exports);
  InitSecure(env, exports);
  InitSecureBuffer(env, exports);
  return exports;
}

}  // namespace tsr

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return tsr::Init(env, exports);
}
NODE_API_MODULE(tessera, InitModule)
