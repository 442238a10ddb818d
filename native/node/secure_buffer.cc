// SecureBuffer: caller-visible secure memory (lib/secure.ts). The bytes live
// in tsr_secmem and reach JS as an external ArrayBuffer, so reads and writes
// go straight to locked, guard-paged, no-dump memory. dispose() zeroizes,
// frees and detaches the ArrayBuffer, so no view can reach the freed block;
// without dispose, the ArrayBuffer's finalizer frees (zeroizing) after GC.
#include "addon.h"

extern "C" {
#include "../secmem/tsr_secmem.h"
}

namespace tsr {

namespace {

// Shared by the ArrayBuffer's finalizer and dispose(); deleted by the
// finalizer, which runs only once no JS object can reach the buffer.
struct SecretBlock {
  uint8_t *p;
  bool freed;
};

void FinalizeSecret(napi_env, void *, void *hint) {
  auto *b = static_cast<SecretBlock *>(hint);
  if (!b->freed) tsr_secmem_free(b->p);  // zeroizes
  delete b;
}

// secureAlloc(n) -> [ArrayBuffer, handle]
Napi::Value Alloc(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  double n = -1;
  if (napi_get_value_double(env, info[0], &n) != napi_ok || !(n >= 1 && n <= (1 << 20)) || n != (double)(size_t)n)
    Throw(env, "ERR_ARGUMENT", "SecureBuffer size must be an integer from 1 to 1048576");
  size_t len = static_cast<size_t>(n);
  uint8_t *p = static_cast<uint8_t *>(tsr_secmem_alloc(len));
  if (!p) ThrowStatus(env, TSR_ERR_NOMEM, "SecureBuffer");
  auto *b = new SecretBlock{p, false};
  napi_value ab, handle;
  if (napi_create_external_arraybuffer(env, p, len, FinalizeSecret, b, &ab) != napi_ok) {
    tsr_secmem_free(p);
    delete b;
    Throw(env, "ERR_SECURE_MEMORY", "SecureBuffer: cannot expose secure memory as an ArrayBuffer");
  }
  napi_create_external(env, b, nullptr, nullptr, &handle);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Value(env, ab));
  out.Set(1u, Napi::Value(env, handle));
  return out;
}

// secureDispose(arrayBuffer, handle): zeroize + free now, then detach.
Napi::Value Dispose(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  void *h = nullptr;
  if (napi_get_value_external(env, info[1], &h) != napi_ok || !h)
    Throw(env, "ERR_ARGUMENT", "not a SecureBuffer handle");
  auto *b = static_cast<SecretBlock *>(h);
  if (b->freed) return env.Undefined();
  tsr_secmem_free(b->p);
  b->freed = true;
  // After this no JS view can reach the (now freed) block. The finalizer
  // may run from here on and delete b: b is not touched again.
  napi_detach_arraybuffer(env, info[0]);
  return env.Undefined();
}

}  // namespace

void InitSecureBuffer(Napi::Env env, Napi::Object exports) {
  exports.Set("secureAlloc", Napi::Function::New(env, Alloc, "secureAlloc"));
  exports.Set("secureDispose", Napi::Function::New(env, Dispose, "secureDispose"));
}

}  // namespace tsr
