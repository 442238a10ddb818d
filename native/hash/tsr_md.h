/*
 * tsr_md: the Merkle-Damgard framing that SHA-256 and SHA-512 share
 * (FIPS 180-4): buffering the message into blocks for the compression
 * function, and the final padding of section 5.1. Internal to native/hash,
 * included by tsr_sha256.c and tsr_sha512.c only; each passes its block
 * size, its length-field size and its compression function.
 *
 * The helpers are always inlined into the per-hash wrappers, so the block
 * size is a constant and compress a direct call there: the code is that of
 * a loop written out per hash.
 */
#ifndef TSR_MD_H
#define TSR_MD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../util/tsr_util.h"

#define TSR_MD_INLINE static inline __attribute__((always_inline))

/* Compresses one block into the chaining value h (uint32_t[8] for SHA-256,
 * uint64_t[8] for SHA-512). */
typedef void (*tsr_md_compress)(void *h, const uint8_t *block);

/* Absorbs in[0..len) into (h, buf, fill, total): completes a partly filled
 * buf first, compresses the whole blocks of in straight from in, and keeps
 * the rest (< block bytes) in buf. total counts bytes. */
TSR_MD_INLINE void tsr_md_update(void *h, uint8_t *buf, size_t *fill, uint64_t *total, size_t block,
                                 tsr_md_compress compress, const uint8_t *in, size_t len) {
  if (len == 0) return; /* in may be NULL then */
  *total += len;
  if (*fill) {
    size_t take = block - *fill;
    if (take > len) take = len;
    memcpy(buf + *fill, in, take);
    *fill += take;
    in += take;
    len -= take;
    if (*fill < block) return;
    compress(h, buf);
    *fill = 0;
  }
  for (; len >= block; in += block, len -= block) compress(h, in);
  memcpy(buf, in, len);
  *fill = len;
}

/* Sections 5.1.1 (SHA-256, lenbytes = 8) and 5.1.2 (SHA-512, lenbytes = 16):
 * appends 0x80, zeros, then the message length in bits as a lenbytes-byte
 * big-endian integer, and compresses the last one or two blocks. buf holds
 * fill < block bytes of message. The bit length is total * 8: its low 64
 * bits end the block; a 16-byte field holds total >> 61 in front of them. */
TSR_MD_INLINE void tsr_md_pad(void *h, uint8_t *buf, size_t fill, uint64_t total, size_t block, size_t lenbytes,
                              tsr_md_compress compress) {
  buf[fill++] = 0x80;
  if (fill > block - lenbytes) {
    memset(buf + fill, 0, block - fill);
    compress(h, buf);
    fill = 0;
  }
  memset(buf + fill, 0, block - 8 - fill);
  if (lenbytes > 8) tsr_store64_be(buf + block - 16, total >> 61);
  tsr_store64_be(buf + block - 8, total << 3);
  compress(h, buf);
}

#endif
