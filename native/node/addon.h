// Shared pieces of the node-addon-api binding: per-instance state, the
// TesseraError bridge and the conversion of arguments at the boundary (the
// style of sodium-native: a mechanical binding). The rules (argument
// checks with worded errors, the message header, nonce counting) live in
// the front layer, lib/front, once for both backends; what remains here
// keeps a direct call from reading or writing outside a buffer.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

extern "C" {
#include "../aead/tsr_kernel.h"
#include "../aead/tsr_aead.h"
#include "../message/tsr_message.h"
#include "../message/tsr_nonce.h"
}

namespace tsr {

// Per-addon-instance state (one per Node environment / worker thread).
struct Instance {
  Napi::FunctionReference error_ctor;                                    // lib/errors.ts TesseraError
  Napi::FunctionReference status_fn;                                     // lib/front/status.ts statusError
  Napi::FunctionReference key_ctor;                                      // NativeKey, to recognise it as a key argument
  tsr_aead_ctx *raw[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};  // raw API, by alg id
  tsr_nonce_pool *nonces = nullptr;                                      // message nonces of this JS thread
  tsr_kernel kernel{};                                                   // set by setKernel(); else the process default
  bool kernel_set = false;
  ~Instance();
};

Instance &GetInstance(Napi::Env env);

// A context on the instance's kernel (setKernel) or the process default
// (TESSERA_NATIVE_KERNEL); nullptr with *st set on failure.
tsr_aead_ctx *NewContext(Napi::Env env, tsr_aead_alg alg, const uint8_t *key, tsr_status *st);
// The kernel new contexts get; ERR_BACKEND if TESSERA_NATIVE_KERNEL cannot run here.
tsr_kernel CurrentKernel(Napi::Env env);

// Throws `new TesseraError(code, message)`. Messages never carry key bytes
// or plaintext; they say what was expected and what arrived.
Napi::Value MakeError(Napi::Env env, const char *code, const std::string &message);
[[noreturn]] void Throw(Napi::Env env, const char *code, const std::string &message);
// The TesseraError for a tsr_status, from lib/front/status.ts (what: the
// operation; index: a failing batch message, or -1).
Napi::Value StatusError(Napi::Env env, tsr_status st, const char *what, long long index = -1);
[[noreturn]] void ThrowStatus(Napi::Env env, tsr_status st, const char *what, long long index = -1);

// A checked view of a Uint8Array argument.
struct Bytes {
  uint8_t *data = nullptr;
  size_t len = 0;
  napi_value value = nullptr;
};

// A Uint8Array (Buffer included) as pointer and length; `optional` also
// accepts undefined/null as empty. Anything else is ERR_ARGUMENT.
Bytes GetBytes(Napi::Env env, napi_value v, const char *name, bool optional = false);
// The same conversion without throwing: false if v is not a Uint8Array.
bool TryBytes(napi_env env, napi_value v, Bytes *out);
tsr_aead_alg GetAlg(Napi::Env env, napi_value v);
// out must hold `need` bytes (a C function without an output length would
// write past it otherwise).
void CheckOutLen(Napi::Env env, const Bytes &out, size_t need);
// A new Buffer of len bytes for an output, JS thread only (Node's allocator;
// from 32 MiB a block of the AllocOut cache while it has room).
Napi::Value NewBuffer(Napi::Env env, size_t len, uint8_t **data);
// Output memory that a worker thread may allocate, then hand to JS with
// AdoptOut on the JS thread (or release with FreeOut).
uint8_t *AllocOut(size_t len, void **hint);
void FreeOut(uint8_t *p, void *hint);
Napi::Value AdoptOut(Napi::Env env, uint8_t *p, size_t len, void *hint);

// The key bytes held by a NativeKey (lib/aead.ts AeadKey's handle), read
// on the JS thread only; nullptr if v is not a NativeKey. ERR_DISPOSED if it
// was disposed.
const uint8_t *NativeKeyBytes(Napi::Env env, napi_value v, size_t *len);

void InitRaw(Napi::Env env, Napi::Object exports);
void InitChunked(Napi::Env env, Napi::Object exports);
void InitKey(Napi::Env env, Napi::Object exports);
void InitSecure(Napi::Env env, Napi::Object exports);
void InitSecureBuffer(Napi::Env env, Napi::Object exports);

}  // namespace tsr
