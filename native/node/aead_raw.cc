// Raw AEAD entry points (contract: aead.seal / open / sealInto / openInto).
// The caller passes key bytes on every call; one context per algorithm is
// cached per instance and re-keyed, so a call costs a key schedule, not an
// allocation.
#include "addon.h"

extern "C" {
#include "../util/tsr_util.h"
}

namespace tsr {

namespace {

struct RawArgs {
  tsr_aead_alg alg;
  Bytes key, nonce, input, aad;
};

// args: alg, key, nonce, input, aad? starting at info[first]
RawArgs ParseRaw(const Napi::CallbackInfo &info, size_t first, const char *input_name) {
  Napi::Env env = info.Env();
  RawArgs a;
  a.alg = GetAlg(env, info[first]);
  a.key = GetBytes(env, info[first + 1], "key");
  a.nonce = GetBytes(env, info[first + 2], "nonce");
  a.input = GetBytes(env, info[first + 3], input_name);
  a.aad = GetBytes(env, info[first + 4], "aad", true);
  // Checked with worded errors by lib/front/backend.ts; here only so that no
  // direct call reads past a key or nonce.
  if (a.key.len != TSR_AEAD_KEYBYTES || a.nonce.len != tsr_aead_nonce_len(a.alg))
    ThrowStatus(env, TSR_ERR_ARGUMENT, "aead");
  return a;
}

tsr_aead_ctx *Keyed(Napi::Env env, const RawArgs &a) {
  Instance &inst = GetInstance(env);
  tsr_aead_ctx *&ctx = inst.raw[a.alg];
  tsr_status st;
  if (!ctx) {
    ctx = NewContext(env, a.alg, a.key.data, &st);
    if (!ctx) ThrowStatus(env, st, "aead");
  } else if (tsr_ct_compare(tsr_aead_ctx_key(ctx), a.key.data, TSR_AEAD_KEYBYTES) != 0 &&
             (st = tsr_aead_ctx_rekey(ctx, a.key.data)) != TSR_OK) {
    // Callers usually pass the same key call after call: the key schedule
    // is redone only when the bytes change (compared in constant time).
    ThrowStatus(env, st, "aead");
  }
  return ctx;
}

void RequireSealed(Napi::Env env, const Bytes &sealed) {
  if (sealed.len < TSR_AEAD_TAGBYTES) ThrowStatus(env, TSR_ERR_FORMAT, "aead.open");
}

Napi::Value Seal(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RawArgs a = ParseRaw(info, 0, "plaintext");
  uint8_t *out;
  Napi::Value buf = NewBuffer(env, a.input.len + TSR_AEAD_TAGBYTES, &out);
  tsr_status st =
      tsr_aead_seal(Keyed(env, a), out, a.nonce.data, a.input.data, a.input.len, a.aad.data, a.aad.len, nullptr, 0);
  if (st != TSR_OK) ThrowStatus(env, st, "aead.seal");
  return buf;
}

Napi::Value Open(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RawArgs a = ParseRaw(info, 0, "sealed");
  RequireSealed(env, a.input);
  uint8_t *out;
  Napi::Value buf = NewBuffer(env, a.input.len - TSR_AEAD_TAGBYTES, &out);
  tsr_status st =
      tsr_aead_open(Keyed(env, a), out, a.nonce.data, a.input.data, a.input.len, a.aad.data, a.aad.len, nullptr, 0);
  if (st != TSR_OK) ThrowStatus(env, st, "aead.open");
  return buf;
}

Napi::Value SealInto(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Bytes out = GetBytes(env, info[0], "out");
  RawArgs a = ParseRaw(info, 1, "plaintext");
  size_t n = a.input.len + TSR_AEAD_TAGBYTES;
  CheckOutLen(env, out, n);
  tsr_status st = tsr_aead_seal(Keyed(env, a), out.data, a.nonce.data, a.input.data, a.input.len, a.aad.data, a.aad.len,
                                nullptr, 0);
  if (st != TSR_OK) ThrowStatus(env, st, "aead.sealInto");
  return Napi::Number::New(env, static_cast<double>(n));
}

Napi::Value OpenInto(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Bytes out = GetBytes(env, info[0], "out");
  RawArgs a = ParseRaw(info, 1, "sealed");
  RequireSealed(env, a.input);
  size_t n = a.input.len - TSR_AEAD_TAGBYTES;
  CheckOutLen(env, out, n);
  tsr_status st = tsr_aead_open(Keyed(env, a), out.data, a.nonce.data, a.input.data, a.input.len, a.aad.data, a.aad.len,
                                nullptr, 0);
  if (st != TSR_OK) ThrowStatus(env, st, "aead.openInto");
  return Napi::Number::New(env, static_cast<double>(n));
}

}  // namespace

void InitRaw(Napi::Env env, Napi::Object exports) {
  exports.Set("rawSeal", Napi::Function::New(env, Seal, "rawSeal"));
  exports.Set("rawOpen", Napi::Function::New(env, Open, "rawOpen"));
  exports.Set("rawSealInto", Napi::Function::New(env, SealInto, "rawSealInto"));
  exports.Set("rawOpenInto", Napi::Function::New(env, OpenInto, "rawOpenInto"));
}

}  // namespace tsr
