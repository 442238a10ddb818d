/**
 * CRC-32C (Castagnoli): the checksum Google Cloud KMS uses for its
 * request/response integrity fields
 * (https://cloud.google.com/kms/docs/data-integrity-guidelines). node:zlib
 * only has the IEEE CRC-32, a different polynomial. Reflected polynomial
 * 0x82F63B78, initial value and final XOR 0xFFFFFFFF, as RFC 3720 section
 * 12.1 and appendix B.4 (whose check values test/kek.gcp.test.ts verifies).
 * Table-driven, one byte at a time: the inputs are data keys and their
 * wraps, a few dozen bytes.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The CRC-32C of bytes, as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
