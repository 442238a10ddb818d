/*
 * Memory of the WASM module (docs/ARCHITECTURE.md).
 *
 * Linear memory is laid out by wasm-ld as
 *   [stack (--stack-first) | data | key region (this file) | scratch ...]
 * Keys and everything derived from them (key schedules, Cobblestone keys,
 * per-message subkeys) are tsr_secmem blocks in the key region: a fixed
 * static array, so its address never moves and it never mixes with the
 * scratch area through which inputs and outputs are copied. Blocks are
 * zeroized when freed. Browsers offer no mlock: these bytes can be paged
 * out like any other memory (docs/SECURITY.md).
 *
 * The scratch area starts at __heap_base and grows with memory.grow; the
 * JS side (lib/backend/wasm.ts) places each call's inputs and outputs
 * there. Calls do not nest, so one area is enough.
 */
#include <stddef.h>
#include <stdint.h>

#include "../util/tsr_util.h"
#include "../secmem/tsr_secmem.h"

/* 4 MiB: about 1 500 AEAD contexts (tsr_aead_soft.c's is ~2.7 KiB: the
 * key, the bitsliced AES schedule and GHASH powers of H). Full is
 * ERR_SECURE_MEMORY, never a fallback to ordinary memory. */
#define KEY_REGION (4u << 20)
#define UNIT       16u

/* Each block is a 16-byte header { size in bytes incl. header, in use,
 * requested size } followed by the caller's bytes. */
typedef struct {
  uint32_t size, used, asked, pad;
} block;

static _Alignas(16) uint8_t key_region[KEY_REGION];
static int initialised;
static uint32_t live_blocks;

static block *at(uint32_t off) {
  return (block *)(key_region + off);
}

static void init_region(void) {
  block *b = at(0);
  b->size = KEY_REGION;
  b->used = 0;
  initialised = 1;
}

void *tsr_secmem_alloc(size_t n) {
  if (n == 0 || n > (1u << 20)) return NULL;
  if (!initialised) init_region();
  uint32_t need = (uint32_t)((n + sizeof(block) + UNIT - 1) & ~(size_t)(UNIT - 1));
  for (uint32_t off = 0; off < KEY_REGION; off += at(off)->size) {
    block *b = at(off);
    if (b->used || b->size < need) continue;
    if (b->size - need >= 2 * UNIT) { /* split: the rest stays free */
      block *rest = at(off + need);
      rest->size = b->size - need;
      rest->used = 0;
      b->size = need;
    }
    b->used = 1;
    b->asked = (uint32_t)n;
    live_blocks++;
    /* Free blocks are kept zeroed (freeing wipes), so this is zeroed memory. */
    return b + 1;
  }
  return NULL;
}

static block *owner(const void *p) {
  const uint8_t *q = p;
  if (q < key_region + sizeof(block) || q >= key_region + KEY_REGION) __builtin_trap();
  block *b = (block *)q - 1;
  if (!b->used) __builtin_trap(); /* double free or foreign pointer */
  return b;
}

void tsr_secmem_free(void *p) {
  if (!p) return;
  block *b = owner(p);
  tsr_memzero(b + 1, b->size - sizeof(block));
  b->used = 0;
  live_blocks--;
  /* Coalesce free neighbours in one pass so the region does not fragment. */
  for (uint32_t off = 0; off < KEY_REGION;) {
    block *c = at(off);
    if (!c->used) {
      uint32_t next = off + c->size;
      while (next < KEY_REGION && !at(next)->used) {
        uint32_t s = at(next)->size;
        tsr_memzero(at(next), sizeof(block));
        c->size += s;
        next += s;
      }
    }
    off += c->size;
  }
}

size_t tsr_secmem_size(const void *p) {
  return p ? owner(p)->asked : 0;
}

void tsr_secmem_stats_get(tsr_secmem_stats *out) {
  tsr_memzero(out, sizeof *out);
  out->mapped_bytes = KEY_REGION;
  out->allocations = live_blocks;
  out->arenas = 1;
}

/* Address of the key region (test hooks check that it is wiped). */
__attribute__((export_name("tsr_wasm_key_region"))) uint8_t *tsr_wasm_key_region(void) {
  return key_region;
}
__attribute__((export_name("tsr_wasm_key_region_size"))) uint32_t tsr_wasm_key_region_size(void) {
  return KEY_REGION;
}
__attribute__((export_name("tsr_wasm_key_blocks"))) uint32_t tsr_wasm_key_blocks(void) {
  return live_blocks;
}

extern uint8_t __heap_base;

/* The scratch area, grown to at least n bytes; 0 when memory cannot grow. */
__attribute__((export_name("tsr_wasm_scratch"))) uint8_t *tsr_wasm_scratch(uint32_t n) {
  uintptr_t base = ((uintptr_t)&__heap_base + 63) & ~(uintptr_t)63;
  uint64_t end = (uint64_t)base + n;
  uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) << 16;
  if (end > have) {
    uint64_t pages = (end - have + 65535) >> 16;
    if (__builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1) return 0;
  }
  return (uint8_t *)base;
}
