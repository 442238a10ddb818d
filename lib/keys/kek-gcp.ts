/**
 * Google Cloud KMS as a KEK (`kek.gcpKms`, lib/keys/kek.ts) through the
 * caller's own KeyManagementServiceClient from @google-cloud/kms (an
 * optional peer dependency: tessera holds no Google credentials, pins no
 * SDK version and loads nothing from it; the client may speak gRPC or REST).
 * Operations per the API reference:
 * https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys/encrypt
 * and .../decrypt, on a symmetric ENCRYPT_DECRYPT CryptoKey (KMS encrypts
 * with its primary version and decrypts with whichever version made the
 * ciphertext, so wraps survive a rotation).
 *
 * - id: `gcp-kms://<keyName>` (Tink's key URI form).
 * - Binding: the context is encoded canonically (below) into
 *   additionalAuthenticatedData, which KMS authenticates: a wrap opens only
 *   under the same context.
 * - Integrity per https://cloud.google.com/kms/docs/data-integrity-guidelines:
 *   requests carry the CRC-32C of plaintext / ciphertext and AAD; a response
 *   must confirm the request checksums (verified* flags), carry a checksum
 *   matching the bytes it returns, and (encrypt) name a version of this key.
 *   Any mismatch is corruption in transit: ERR_KEK, and no bytes returned.
 * - Failures, by google.rpc status (https://cloud.google.com/apis/design/errors):
 *   decrypt refused with INVALID_ARGUMENT (altered wrap, another key or
 *   context) is ERR_AUTH; RESOURCE_EXHAUSTED, UNAVAILABLE, DEADLINE_EXCEEDED
 *   and network failures are retried by `kek.resilient` (options.resilience)
 *   and end as ERR_KEK_UNAVAILABLE; everything else (PERMISSION_DENIED,
 *   UNAUTHENTICATED, FAILED_PRECONDITION for a disabled version, NOT_FOUND,
 *   a checksum refused by KMS) is ERR_KEK, never retried. Messages name the
 *   key and the status only, never a token, key bytes or a request body.
 * - Each call passes `{ retry: null }` so the client does not retry on its
 *   own (its default config retries UNAVAILABLE and DEADLINE_EXCEEDED for up
 *   to 600 s): kek.resilient's timeouts, backoff and breaker govern alone.
 *
 * The status comes from one of two error shapes: a gRPC ServiceError or
 * gax GoogleError (`code` 0-16), or, over REST with a google-auth-library
 * client, a GaxiosError thrown before gax decodes the body (`status` is the
 * HTTP status, `message` the google.rpc error JSON).
 */
import { TesseraError } from '../errors';
import { describe } from '../format';
import { crc32c } from './crc32c';
import type { KekProvider } from './kek-provider';
import { type ResilienceOptions, resilient } from './kek-resilient';

/** What tessera uses of a KeyManagementServiceClient (any transport); both resolve to [response, ...]. */
export interface GcpKmsClient {
  encrypt(request: object, options?: object): Promise<unknown>;
  decrypt(request: object, options?: object): Promise<unknown>;
}

/** Options of kek.gcpKms (docs/API.md "Key-encryption keys in a cloud KMS or Vault"). */
export interface GcpKmsOptions {
  /** A KeyManagementServiceClient of @google-cloud/kms. */
  client: GcpKmsClient;
  /** projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k> (the CryptoKey, not a version). */
  keyName: string;
  /** What every wrapped key is bound to (default { purpose: 'tessera-kek-v1' }). */
  context?: Record<string, string>;
  /** Timeouts, retries and the circuit breaker (kek.resilient). */
  resilience?: ResilienceOptions;
}

// Key ring and key ids are [a-zA-Z0-9_-]{1,63} (keyRingId / cryptoKeyId in
// https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings/create
// and .../keyRings.cryptoKeys/create); project ids may carry a domain prefix.
const KEY_NAME = /^projects\/[a-z0-9][a-z0-9.:-]{0,127}\/locations\/[a-z0-9-]{1,63}\/keyRings\/[A-Za-z0-9_-]{1,63}\/cryptoKeys\/[A-Za-z0-9_-]{1,63}$/;
/** KMS limits plaintext and AAD to 64 KiB each. */
const MAX_AAD = 65536;
const MAX_WRAPPED = 65536;

const RPC = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];
/** google.rpc.Code's HTTP mapping (google/rpc/code.proto), for a body that names no status. */
const FROM_HTTP: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};
/** Worth another attempt, with the HTTP status kek-resilient.ts retries on. */
const TRANSIENT: Record<string, number> = { RESOURCE_EXHAUSTED: 429, UNAVAILABLE: 503, DEADLINE_EXCEEDED: 504 };
const NETWORK = /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|EPIPE|ENOTFOUND|ENETUNREACH|EHOSTUNREACH|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT)$/;
const HINT: Record<string, string> = {
  PERMISSION_DENIED: 'the caller may not use this key, or it does not exist',
  UNAUTHENTICATED: 'the client’s credentials were refused',
  FAILED_PRECONDITION: 'the key version is not enabled',
  NOT_FOUND: 'no such key',
};

/** A transient failure, reduced to what kek.resilient needs (status or network code): no request, no credentials. */
class Transient extends Error {
  constructor(
    name: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
  ) {
    super(name);
    this.name = name;
  }
}

/** The google.rpc status name of a client error, or undefined when it carries none. */
function rpcStatus(o: Record<string, unknown>): string | undefined {
  if (typeof o.status === 'number' && o.status >= 100 && o.status < 600) {
    const m = /"status"\s*:\s*"([A-Z_]{2,32})"/.exec(String(o.message));
    if (m && RPC.includes(m[1]!)) return m[1];
    return FROM_HTTP[o.status] ?? (o.status >= 500 ? 'INTERNAL' : 'UNKNOWN');
  }
  if (typeof o.code === 'number' && Number.isInteger(o.code) && o.code >= 0 && o.code <= 16) return RPC[o.code];
  return undefined;
}

function networkCode(o: Record<string, unknown>): string | undefined {
  for (const c of [o.code, (o.cause as { code?: unknown } | undefined)?.code]) if (typeof c === 'string' && NETWORK.test(c)) return c;
  return undefined;
}

/** An Int64Value wrapper as the client returns it ({ value: string | number | Long }), as a number; undefined if absent. */
function int64(v: unknown): number | undefined {
  const x = v !== null && typeof v === 'object' && 'value' in v ? (v as { value: unknown }).value : v;
  if (x === null || x === undefined) return undefined;
  const s = String(x); // a Long's toString gives its decimal digits
  return /^[0-9]{1,10}$/.test(s) ? Number(s) : NaN;
}

/**
 * The context as AAD: a domain label, then per entry (sorted by the UTF-8
 * bytes of the name) length-prefixed name and value, so that no two
 * contexts encode alike and key order does not matter.
 */
/**
 * The same bytes as a Buffer view (no copy). The REST transport's
 * serializer (proto3-json-serializer, build/src/bytes.js) encodes a plain
 * Uint8Array from offset 0 of its ArrayBuffer, so a subarray would send
 * other bytes; Buffers it encodes right.
 */
const view = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function encodeContext(ctx: Record<string, string>): Buffer {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const entries = Object.entries(ctx).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  entries.sort(([a], [b]) => Buffer.compare(a, b));
  const parts: Buffer[] = [Buffer.from('tessera gcp-kms context v1\0', 'utf8'), u32(entries.length)];
  for (const [k, v] of entries) parts.push(u32(k.length), k, u32(v.length), v);
  return Buffer.concat(parts);
}

export function gcpKms(opts: GcpKmsOptions): KekProvider {
  if (opts === null || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', `kek.gcpKms needs options (got ${describe(opts)})`);
  const client = opts.client;
  if (!client || typeof client.encrypt !== 'function' || typeof client.decrypt !== 'function')
    throw new TesseraError('ERR_ARGUMENT', 'kek.gcpKms: client must be a KeyManagementServiceClient (an object with encrypt() and decrypt())');
  const keyName = opts.keyName;
  if (typeof keyName !== 'string' || !KEY_NAME.test(keyName))
    throw new TesseraError(
      'ERR_ARGUMENT',
      typeof keyName === 'string' && keyName.includes('/cryptoKeyVersions/')
        ? 'kek.gcpKms: keyName must name the CryptoKey, not a version (KMS encrypts with the primary version and decrypts with the one that encrypted)'
        : `kek.gcpKms: keyName must be projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key> (got ${describe(keyName)})`,
    );
  const ctx = opts.context ?? { purpose: 'tessera-kek-v1' };
  if (ctx === null || typeof ctx !== 'object' || Array.isArray(ctx)) throw new TesseraError('ERR_ARGUMENT', 'kek.gcpKms: context must be an object of strings');
  for (const [k, v] of Object.entries(ctx))
    // A lone surrogate would encode as U+FFFD and collide with another context.
    if (typeof v !== 'string' || k.length === 0 || Buffer.from(k).toString() !== k || Buffer.from(v).toString() !== v)
      throw new TesseraError('ERR_ARGUMENT', 'kek.gcpKms: context must map non-empty names to strings (well-formed Unicode)');
  const aad = encodeContext(ctx);
  if (aad.length > MAX_AAD) throw new TesseraError('ERR_ARGUMENT', `kek.gcpKms: the encoded context is ${aad.length} bytes; Cloud KMS allows ${MAX_AAD}`);
  const aadCrc = { value: crc32c(aad) };
  const id = `gcp-kms://${keyName}`;
  const where = `Google Cloud KMS ${id}`;

  async function call(op: 'encrypt' | 'decrypt', request: object): Promise<Record<string, unknown>> {
    const what = op === 'encrypt' ? 'wrap' : 'unwrap';
    let res: unknown;
    try {
      res = op === 'encrypt' ? await client.encrypt(request, { retry: null }) : await client.decrypt(request, { retry: null });
    } catch (e) {
      // Never passed on, not even as a cause: a GaxiosError keeps the request headers (the bearer token) in its config.
      const o = e !== null && typeof e === 'object' ? (e as Record<string, unknown>) : {};
      const status = rpcStatus(o);
      if (status === undefined) {
        const net = networkCode(o);
        if (net !== undefined) throw new Transient('NetworkError', undefined, net);
        throw new TesseraError('ERR_KEK', `${what}: ${where}: ${typeof o.name === 'string' ? o.name.slice(0, 60) : 'error'}`);
      }
      if (TRANSIENT[status] !== undefined) throw new Transient(status, TRANSIENT[status], undefined); // kek.resilient decides
      // KMS checks the request checksums it is sent and answers INVALID_ARGUMENT on a mismatch.
      const checksum = /crc32c|checksum/i.test(String(o.message));
      if (op === 'decrypt' && status === 'INVALID_ARGUMENT' && !checksum)
        throw new TesseraError('ERR_AUTH', `unwrap: ${where} refused the wrapped key (INVALID_ARGUMENT: altered, another key, or another context)`);
      if (checksum) throw new TesseraError('ERR_KEK', `${what}: ${where}: ${status}: the request was corrupted in transit (checksum mismatch)`);
      throw new TesseraError('ERR_KEK', `${what}: ${where}: ${status}${HINT[status] ? ` (${HINT[status]})` : ''}`);
    }
    const r = Array.isArray(res) ? (res[0] as unknown) : undefined;
    if (r === null || typeof r !== 'object') throw new TesseraError('ERR_KEK', `${what}: ${where} answered without a response`);
    return r as Record<string, unknown>;
  }

  const corrupt = (what: string, why: string) =>
    new TesseraError('ERR_KEK', `${what}: ${where}: integrity check failed (${why}): the response was corrupted in transit; nothing was used`);

  const raw: KekProvider = {
    id,
    async wrap(dataKey: Uint8Array) {
      if (!(dataKey instanceof Uint8Array) || dataKey.length === 0 || dataKey.length > 4096)
        throw new TesseraError('ERR_ARGUMENT', 'wrap: the data key must be 1 to 4096 bytes');
      const r = await call('encrypt', {
        name: keyName,
        plaintext: view(dataKey),
        additionalAuthenticatedData: aad,
        plaintextCrc32c: { value: crc32c(dataKey) },
        additionalAuthenticatedDataCrc32c: aadCrc,
      });
      if (r.verifiedPlaintextCrc32c !== true || r.verifiedAdditionalAuthenticatedDataCrc32c !== true)
        throw corrupt('wrap', 'KMS did not confirm the request checksums');
      const name = r.name;
      if (
        typeof name !== 'string' ||
        (name !== keyName && !/^\/cryptoKeyVersions\/[0-9]{1,20}$/.test(name.startsWith(keyName) ? name.slice(keyName.length) : ''))
      )
        throw corrupt('wrap', 'the response names another key');
      const ct = r.ciphertext;
      if (!(ct instanceof Uint8Array) || ct.length === 0) throw new TesseraError('ERR_KEK', `wrap: ${where} answered without a ciphertext`);
      if (int64(r.ciphertextCrc32c) !== crc32c(ct)) throw corrupt('wrap', 'ciphertext checksum mismatch');
      return Uint8Array.from(ct);
    },
    async unwrap(wrapped: Uint8Array) {
      if (!(wrapped instanceof Uint8Array) || wrapped.length === 0 || wrapped.length > MAX_WRAPPED)
        throw new TesseraError('ERR_FORMAT', `unwrap: not a Cloud KMS ciphertext (1 to ${MAX_WRAPPED} bytes)`);
      const r = await call('decrypt', {
        name: keyName,
        ciphertext: view(wrapped),
        additionalAuthenticatedData: aad,
        ciphertextCrc32c: { value: crc32c(wrapped) },
        additionalAuthenticatedDataCrc32c: aadCrc,
      });
      const pt = r.plaintext;
      if (!(pt instanceof Uint8Array) || pt.length === 0) throw new TesseraError('ERR_KEK', `unwrap: ${where} answered without a plaintext`);
      try {
        if (int64(r.plaintextCrc32c) !== crc32c(pt)) throw corrupt('unwrap', 'plaintext checksum mismatch');
        return Uint8Array.from(pt);
      } finally {
        pt.fill(0);
      }
    },
  };
  return resilient(raw, opts.resilience);
}
