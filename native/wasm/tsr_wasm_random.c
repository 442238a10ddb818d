/* The CSPRNG of the WASM module: crypto.getRandomValues from the host
 * (lib/backend/wasm-engine.ts), imported as env.random. */
#include <stddef.h>
#include <stdint.h>

#include "../aead/tsr_aead.h"

/* At most 65 536 bytes per call: the Web Crypto limit. */
__attribute__((import_module("env"), import_name("random"))) void tsr_host_random(uint8_t *buf, size_t n);

tsr_status tsr_random_bytes(uint8_t *buf, size_t n) {
  while (n > 0) {
    size_t k = n < 65536 ? n : 65536;
    tsr_host_random(buf, k);
    buf += k;
    n -= k;
  }
  return TSR_OK;
}
