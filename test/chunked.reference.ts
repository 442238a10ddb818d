// Independent reference for c2sp.org/chunked-encryption ("Cobblestone"),
// written from the spec on node:crypto only, for the chunked differential
// suite. Nothing here comes from tessera: HKDF-Expand is built from
// createHmac('sha512') (crypto.hkdf would run Extract first, which the spec
// omits), and each chunk is one node:crypto AES-GCM call with empty AAD.
//
//   key || base nonce || commitment = HKDF-SHA-512-Expand(prk = input key,
//       info = "c2sp.org/chunked-encryption@v1+" || aead || 0x00 || salt || context)
//   ciphertext = salt (24) || commitment (32) || chunk 0 || ... || final chunk
//   chunk i = AES-GCM(key, baseNonce XOR be96(i), chunk plaintext, aad = empty)
//   every chunk holds 16384 bytes but the final one, which holds 0 .. 16383.
import * as crypto from 'node:crypto';

export type RefSuite = 'cobblestone-256' | 'cobblestone-128';

export const REF_CHUNK = 16384;
export const REF_TAG = 16;
export const REF_SALT = 24;
export const REF_COMMITMENT = 32;
export const REF_HEADER = REF_SALT + REF_COMMITMENT;
const CHUNK_CT = REF_CHUNK + REF_TAG;

const PARAMS: Record<RefSuite, { aead: string; cipher: 'aes-256-gcm' | 'aes-128-gcm'; keyLen: number }> = {
  'cobblestone-256': { aead: 'AEAD_AES_256_GCM', cipher: 'aes-256-gcm', keyLen: 32 },
  'cobblestone-128': { aead: 'AEAD_AES_128_GCM', cipher: 'aes-128-gcm', keyLen: 16 },
};

/** RFC 5869 HKDF-Expand with HMAC-SHA-512 (no Extract step). */
export function hkdfSha512Expand(prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  if (length > 255 * 64) throw new Error('HKDF-Expand: output too long');
  const blocks: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  for (let i = 1; 64 * blocks.length < length; i++) {
    t = crypto.createHmac('sha512', prk).update(t).update(info).update(Uint8Array.of(i)).digest();
    blocks.push(t);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

export interface RefKeys {
  key: Buffer;
  baseNonce: Buffer;
  commitment: Buffer;
}

function contextBytes(context: string | Uint8Array): Buffer {
  return typeof context === 'string' ? Buffer.from(context, 'utf8') : Buffer.from(context.buffer, context.byteOffset, context.byteLength);
}

/** The spec's "Key derivation" step. */
export function refDerive(inputKey: Uint8Array, salt: Uint8Array, context: string | Uint8Array, suite: RefSuite): RefKeys {
  const p = PARAMS[suite];
  if (!p) throw new Error(`reference: unknown suite ${String(suite)}`);
  if (inputKey.length !== p.keyLen) throw new Error(`reference: ${suite} takes a ${p.keyLen}-byte key (got ${inputKey.length})`);
  if (salt.length !== REF_SALT) throw new Error(`reference: salt must be ${REF_SALT} bytes`);
  const info = Buffer.concat([
    Buffer.from('c2sp.org/chunked-encryption@v1+', 'ascii'),
    Buffer.from(p.aead, 'ascii'),
    Buffer.of(0),
    salt,
    contextBytes(context),
  ]);
  const okm = hkdfSha512Expand(inputKey, info, p.keyLen + 12 + REF_COMMITMENT);
  return {
    key: okm.subarray(0, p.keyLen),
    baseNonce: okm.subarray(p.keyLen, p.keyLen + 12),
    commitment: okm.subarray(p.keyLen + 12),
  };
}

/** baseNonce XOR the chunk counter as a 96-bit big-endian integer. */
export function refNonce(baseNonce: Uint8Array, counter: number): Buffer {
  const n = Buffer.from(baseNonce);
  let c = BigInt(counter);
  for (let i = 11; i >= 0 && c > 0n; i--) {
    n[i]! ^= Number(c & 0xffn);
    c >>= 8n;
  }
  return n;
}

/** Cobblestone encryption with a caller-chosen salt (deterministic). */
export function refEncrypt(key: Uint8Array, plaintext: Uint8Array, context: string | Uint8Array, suite: RefSuite, salt: Uint8Array): Buffer {
  const k = refDerive(key, salt, context, suite);
  const cipher = PARAMS[suite].cipher;
  const parts: Buffer[] = [Buffer.from(salt), k.commitment];
  const chunks = Math.floor(plaintext.length / REF_CHUNK) + 1; // the final chunk is always short, maybe empty
  for (let i = 0; i < chunks; i++) {
    const piece = plaintext.subarray(i * REF_CHUNK, Math.min((i + 1) * REF_CHUNK, plaintext.length));
    const c = crypto.createCipheriv(cipher, k.key, refNonce(k.baseNonce, i), { authTagLength: REF_TAG });
    parts.push(c.update(piece), c.final(), c.getAuthTag());
  }
  return Buffer.concat(parts);
}

/**
 * Cobblestone decryption. Throws (a plain Error) on a wrong key length, a
 * ciphertext shorter than the header, a commitment mismatch (checked before
 * any chunk), a final chunk whose encrypted length is not in
 * [16, 16399] (truncated / extended), or any chunk failing its tag.
 */
export function refDecrypt(key: Uint8Array, ct: Uint8Array, context: string | Uint8Array, suite: RefSuite): Buffer {
  if (ct.length < REF_HEADER) throw new Error('reference: ciphertext shorter than the header');
  const k = refDerive(key, ct.subarray(0, REF_SALT), context, suite);
  if (!crypto.timingSafeEqual(k.commitment, ct.subarray(REF_SALT, REF_HEADER))) throw new Error('reference: commitment mismatch');
  const body = ct.subarray(REF_HEADER);
  const full = Math.floor(body.length / CHUNK_CT);
  const rest = body.length % CHUNK_CT;
  // The final chunk is the (short) remainder: 16 .. 16399 bytes. A remainder
  // of 0 means the required short final chunk is missing (truncated); 1 .. 15
  // cannot hold a tag.
  if (rest < REF_TAG) throw new Error(`reference: invalid ciphertext length (final chunk of ${rest} bytes)`);
  const cipher = PARAMS[suite].cipher;
  const out: Buffer[] = [];
  for (let i = 0; i <= full; i++) {
    const start = i * CHUNK_CT;
    const end = i < full ? start + CHUNK_CT : body.length;
    const chunk = body.subarray(start, end);
    const d = crypto.createDecipheriv(cipher, k.key, refNonce(k.baseNonce, i), { authTagLength: REF_TAG });
    d.setAuthTag(chunk.subarray(chunk.length - REF_TAG));
    const pt = d.update(chunk.subarray(0, chunk.length - REF_TAG));
    try {
      d.final();
    } catch {
      throw new Error(`reference: chunk ${i} failed authentication`);
    }
    out.push(pt);
  }
  return Buffer.concat(out);
}
