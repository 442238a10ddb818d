// What native/node/chunked.cc (NativeChunked) shares with
// native/node/chunked_file.cc (its file job): the per-message state and the
// error mapping of chunk failures.
#pragma once

#include <memory>
#include <vector>

#include "addon.h"

extern "C" {
#include "../chunked/tsr_chunked.h"
#include "../secmem/tsr_secmem.h"
}

namespace tsr {

// Shared by the wrapper and an in-flight async job: dispose() during a job
// defers the wipe until the job lets go.
struct ChunkedState {
  tsr_chunked_suite suite;
  tsr_chunked_keys *keys = nullptr;  // tsr_secmem
  tsr_kernel kernel{};               // the instance's kernel when the cipher was made
  std::vector<tsr_aead_ctx *> ctxs;  // one per participant, keyed with keys->key
  int cancel = 0;                    // set by cancel(), read by a file job (__atomic)
  ~ChunkedState() {
    for (auto *c : ctxs) tsr_aead_ctx_free(c);
    tsr_secmem_free(keys);  // zeroizes
  }
  // Contexts for `width` participants (made on first use, kept for reuse).
  tsr_status Ensure(unsigned width) {
    while (ctxs.size() < width) {
      tsr_status st;
      tsr_aead_ctx *c = tsr_aead_ctx_new_kernel(tsr_chunked_aead(suite), keys->key, &kernel, &st);
      if (!c) return st;
      ctxs.push_back(c);
    }
    return TSR_OK;
  }
};

// An integer argument in [0, max] (ERR_ARGUMENT naming it otherwise).
double GetNumber(Napi::Env env, napi_value v, const char *name, double max);
// The TesseraError for a failed run of chunks.
Napi::Value ChunkError(Napi::Env env, tsr_status st, bool seal);

// NativeChunked#fileAsync (chunked_file.cc): owner is the wrapper, kept
// referenced with state until the job settles; busy lives in it.
Napi::Value ChunkedFileAsync(const Napi::CallbackInfo &info, std::shared_ptr<ChunkedState> state, bool *busy,
                             Napi::Object owner);

}  // namespace tsr
