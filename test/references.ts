// Independent references the differential suites compare tessera against:
// node:crypto for AES-256-GCM and ChaCha20-Poly1305, and XAES-256-GCM built
// from node:crypto's AES-256-ECB (the c2sp.org/XAES-256-GCM KDF) + AES-GCM.
import * as crypto from 'node:crypto';

export function nodeAead(cipher: 'aes-256-gcm' | 'chacha20-poly1305', key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad?: Uint8Array): Buffer {
  const c = crypto.createCipheriv(cipher as 'aes-256-gcm', key, nonce, { authTagLength: 16 });
  if (aad && aad.length) c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

/** XAES-256-GCM per c2sp.org/XAES-256-GCM "Detailed key derivation algorithm", on node:crypto. */
export function xaesNode(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad?: Uint8Array): Buffer {
  const ecb = crypto.createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  const L = ecb.update(Buffer.alloc(16));
  const K1 = Buffer.alloc(16);
  for (let i = 0; i < 15; i++) K1[i] = ((L[i]! << 1) | (L[i + 1]! >> 7)) & 0xff;
  K1[15] = ((L[15]! << 1) & 0xff) ^ (L[0]! & 0x80 ? 0x87 : 0);
  const M = Buffer.alloc(32);
  for (let j = 0; j < 2; j++) {
    M.set([0x00, j + 1, 0x58, 0x00], 16 * j);
    M.set(nonce.subarray(0, 12), 16 * j + 4);
    for (let i = 0; i < 16; i++) M[16 * j + i]! ^= K1[i]!;
  }
  const Kx = ecb.update(M);
  return nodeAead('aes-256-gcm', Kx, nonce.subarray(12, 24), pt, aad);
}
