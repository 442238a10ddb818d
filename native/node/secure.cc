// secureMemoryStats() and the test-only hooks that let the test suite look
// at secure memory from outside (zeroed after dispose, wipe-on-fork, guard
// pages). The hooks are compiled only into the test build of the addon
// (binding.gyp target tessera_test, define TSR_TEST_HOOKS): the addon
// `npm install` builds has no code for them, whatever the environment says.
#ifdef TSR_TEST_HOOKS
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <cmath>

#include "addon.h"

extern "C" {
#include "../secmem/tsr_secmem.h"
}

namespace tsr {

namespace {

Napi::Value Stats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  tsr_secmem_stats s;
  tsr_secmem_stats_get(&s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("lockedBytes", Napi::Number::New(env, static_cast<double>(s.locked_bytes)));
  o.Set("mappedBytes", Napi::Number::New(env, static_cast<double>(s.mapped_bytes)));
  o.Set("allocations", Napi::Number::New(env, static_cast<double>(s.allocations)));
  o.Set("arenas", Napi::Number::New(env, static_cast<double>(s.arenas)));
  o.Set("mlockFailures", Napi::Number::New(env, static_cast<double>(s.mlock_failures)));
  o.Set("memlockLimit", s.memlock_limit == UINT64_MAX ? Napi::Number::New(env, INFINITY)
                                                      : Napi::Number::New(env, static_cast<double>(s.memlock_limit)));
  o.Set("memfdSecret", Napi::Boolean::New(env, s.memfd_secret != 0));
  o.Set("wipeOnFork", Napi::Boolean::New(env, s.wipe_on_fork != 0));
  o.Set("dontDump", Napi::Boolean::New(env, s.dont_dump != 0));
  return o;
}

#ifdef TSR_TEST_HOOKS
uint8_t *Address(const Napi::CallbackInfo &info) {
  bool lossless;
  return reinterpret_cast<uint8_t *>(static_cast<uintptr_t>(info[0].As<Napi::BigInt>().Uint64Value(&lossless)));
}

// testPeek(address, len): copies bytes out of secure memory.
Napi::Value Peek(const Napi::CallbackInfo &info) {
  uint8_t *p = Address(info);
  size_t n = info[1].As<Napi::Number>().Uint32Value();
  return Napi::Buffer<uint8_t>::Copy(info.Env(), p, n);
}

// testForkSeesZero(address, len): forks; the child reports whether the bytes
// read as zero (MADV_WIPEONFORK). Returns true if they did. Only
// async-signal-safe work happens in the child.
Napi::Value ForkSeesZero(const Napi::CallbackInfo &info) {
  const volatile uint8_t *p = Address(info);
  size_t n = info[1].As<Napi::Number>().Uint32Value();
  pid_t pid = fork();
  if (pid == 0) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    _exit(acc == 0 ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) Throw(info.Env(), "ERR_INTERNAL", "fork failed");
  return Napi::Boolean::New(info.Env(), WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// testTouchGuard(address): reads the guard page after the arena holding
// address. Expected to kill the process with SIGSEGV: run it in a child.
Napi::Value TouchGuard(const Napi::CallbackInfo &info) {
  const volatile uint8_t *g = tsr_secmem_test_guard_after(Address(info));
  return Napi::Number::New(info.Env(), g[0]);
}

// testBufferAddress(arrayBuffer): where an ArrayBuffer's bytes live.
Napi::Value BufferAddress(const Napi::CallbackInfo &info) {
  void *data = nullptr;
  size_t len = 0;
  napi_get_arraybuffer_info(info.Env(), info[0], &data, &len);
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data)));
}
#endif  // TSR_TEST_HOOKS

}  // namespace

void InitSecure(Napi::Env env, Napi::Object exports) {
  exports.Set("secureMemoryStats", Napi::Function::New(env, Stats, "secureMemoryStats"));
#ifdef TSR_TEST_HOOKS
  exports.Set("testPeek", Napi::Function::New(env, Peek, "testPeek"));
  exports.Set("testForkSeesZero", Napi::Function::New(env, ForkSeesZero, "testForkSeesZero"));
  exports.Set("testTouchGuard", Napi::Function::New(env, TouchGuard, "testTouchGuard"));
  exports.Set("testBufferAddress", Napi::Function::New(env, BufferAddress, "testBufferAddress"));
#endif
}

}  // namespace tsr
