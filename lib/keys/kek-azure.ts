/**
 * Azure Key Vault and Managed HSM keys as a KEK (`kek.azureKeyVault`,
 * lib/keys/kek.ts) through the caller's own `CryptographyClient` from
 * @azure/keyvault-keys (an optional peer dependency: tessera holds no Azure
 * credential, pins no SDK version and loads nothing from it). Operations per
 * the REST reference:
 *   https://learn.microsoft.com/en-us/rest/api/keyvault/keys/wrap-key/wrap-key
 *   https://learn.microsoft.com/en-us/rest/api/keyvault/keys/unwrap-key/unwrap-key
 * with RSA-OAEP-256 (RFC 8017 section 7.1, SHA-256 and MGF1-SHA-256) for RSA
 * keys, and A256KW (AES key wrap, RFC 3394) for the AES keys of Managed HSM
 * (https://learn.microsoft.com/en-us/azure/key-vault/keys/about-keys-details).
 *
 * The envelope. Key Vault's wrapKey takes no associated data, so the binding
 * lives in what is wrapped: Key Vault wraps `dataKey || B`, where B =
 * SHA-256("tessera azure-kv kek v1\0" || algorithm byte || the context map,
 * canonically encoded). RSA-OAEP and AES-KW are both non-malleable (a wrap
 * opens intact under the right key or not at all), so B comes back unchanged
 * only for this key, and unwrap compares it in constant time: another
 * context is ERR_AUTH. What the store holds is
 *
 *   0xA1 | algorithm (1 RSA-OAEP-256, 2 A256KW) | n | key version (n ASCII bytes) | Key Vault's wrapped bytes
 *
 * Key versions. Key Vault wraps and unwraps under a versionless key id with
 * whatever version is newest at that moment, so after a rotation earlier
 * wraps would no longer open, and the SDK does not report which version
 * wrapped (WrapResult.keyID is the id the client was made with, or the one
 * its first key fetch saw). So the client must be made for a versioned key id
 * (KeyVaultKey.id, or .../keys/<name>/<version>); the id is
 * `azure-kv://<vault host>/keys/<name>/<version>` and a wrap records its
 * version. A new version is a new KEK with a new id: a wrap of another
 * version (or another key) is ERR_AUTH before any request, and names the
 * version it needs.
 *
 * The algorithm of new wraps: `options.algorithm`, RSA-OAEP-256 by default
 * (the SDK's client does not expose the key's type); give 'A256KW' for an
 * AES key. Unwrap uses the algorithm the envelope records, which must be the
 * one given, if one is.
 *
 * Failures (https://learn.microsoft.com/en-us/azure/key-vault/general/rest-error-codes):
 * a wrap Key Vault refuses to unwrap (HTTP 400, as BadParameter "Error
 * occurred while decoding OAEP padding") and a binding mismatch are ERR_AUTH;
 * 401, 403 (access denied, a disabled key), 404 and other client errors or
 * SDK refusals are ERR_KEK naming the key id and the error code, never
 * retried; throttling (429), 5xx and network failures are retried by
 * `kek.resilient` (options.resilience) and end as ERR_KEK_UNAVAILABLE. No
 * message carries a token, key bytes or a request body, and SDK errors are
 * not attached as causes (a RestError keeps the request, bearer token
 * included). Give the client `retryOptions: { maxRetries: 0 }` to leave
 * retries to tessera, or keep the SDK's.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import { TesseraError } from '../errors';
import { describe } from '../format';
import type { KekProvider } from './kek-provider';
import { type ResilienceOptions, resilient, transientFailure } from './kek-resilient';

/**
 * Key Vault's key wrap algorithms tessera uses.
 * @inline
 */
export type AzureWrapAlgorithm = 'RSA-OAEP-256' | 'A256KW';

/** What tessera uses of a CryptographyClient of @azure/keyvault-keys. */
export interface AzureCryptographyClient {
  /** The key's id: https://<vault host>/keys/<name>/<version>. */
  readonly keyID?: string | undefined;
  readonly vaultUrl?: string;
  wrapKey(algorithm: AzureWrapAlgorithm, key: Uint8Array): Promise<{ result: Uint8Array }>;
  unwrapKey(algorithm: AzureWrapAlgorithm, encryptedKey: Uint8Array): Promise<{ result: Uint8Array }>;
}

/** Options of kek.azureKeyVault (docs/API.md "Key-encryption keys in a cloud KMS or Vault"). */
export interface AzureKeyVaultOptions {
  /** A CryptographyClient for a versioned key id (KeyVaultKey.id or https://<vault>/keys/<name>/<version>). */
  client: AzureCryptographyClient;
  /** RSA-OAEP-256 (default) for RSA keys, A256KW for AES (oct-HSM) keys of Managed HSM. */
  algorithm?: AzureWrapAlgorithm;
  /** What every wrapped key is bound to (default { purpose: 'tessera-kek-v1' }). */
  context?: Record<string, string>;
  /** Timeouts, retries and the circuit breaker (kek.resilient). */
  resilience?: ResilienceOptions;
}

const MAGIC = 0xa1;
const ALGS: readonly AzureWrapAlgorithm[] = ['RSA-OAEP-256', 'A256KW']; // byte = index + 1
const LABEL = Buffer.from('tessera azure-kv kek v1\0', 'utf8');
const BINDING = 32;
const NAME = /^[0-9A-Za-z-]{1,127}$/;
const VERSION = /^[0-9A-Za-z]{1,64}$/;
const MAX_DATA_KEY = 512;
const MAX_WRAPPED = 8192;

/** A retryable failure stripped to its status and code (kek-resilient.ts classifies it as the SDK error it replaces). */
class Transient extends Error {
  constructor(
    readonly statusCode: number | undefined,
    readonly code: string | undefined,
  ) {
    super(statusCode !== undefined ? `HTTP ${statusCode}` : (code ?? 'network error'));
    this.name = 'AzureKeyVaultTransient';
  }
}

const token = (v: unknown): string | undefined => (typeof v === 'string' && /^[A-Za-z0-9_.-]{1,60}$/.test(v) ? v : undefined);

/** status, code and inner code of an SDK error, for messages (names only: never a message text or a request). */
function failureOf(e: unknown): { status?: number; code?: string; inner?: string; name: string } {
  const o = (e !== null && typeof e === 'object' ? e : {}) as Record<string, unknown>;
  const status = typeof o.statusCode === 'number' && Number.isInteger(o.statusCode) ? o.statusCode : undefined;
  const details = o.details as { error?: { innerError?: { code?: unknown } } } | undefined;
  return { status, code: token(o.code), inner: token(details?.error?.innerError?.code), name: token(o.name) ?? typeof e };
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** B of the envelope: the label, the algorithm and the context's pairs sorted by name, each length-prefixed. */
function binding(alg: number, context: Record<string, string>): Buffer {
  const h = createHash('sha256')
    .update(LABEL)
    .update(Buffer.from([alg]));
  const pairs = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  h.update(u32(pairs.length));
  for (const [k, v] of pairs) {
    const kb = Buffer.from(k, 'utf8');
    const vb = Buffer.from(v, 'utf8');
    h.update(u32(kb.length)).update(kb).update(u32(vb.length)).update(vb);
  }
  return h.digest();
}

/** Vault host, key name and version of a versioned key id; ERR_ARGUMENT otherwise. */
function parseKeyId(keyID: unknown): { host: string; name: string; version: string } {
  const bad = (why: string) => new TesseraError('ERR_ARGUMENT', `kek.azureKeyVault: ${why}`);
  if (typeof keyID !== 'string' || keyID.length === 0 || keyID.length > 1024)
    throw bad(`client.keyID must be the key's id, https://<vault>/keys/<name>/<version> (got ${describe(keyID)})`);
  let url: URL;
  try {
    url = new URL(keyID);
  } catch {
    throw bad('client.keyID is not a URL');
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash)
    throw bad('client.keyID must be an https key id without credentials, query or fragment');
  const parts = url.pathname.split('/');
  if (parts.length < 3 || parts.length > 4 || parts[1] !== 'keys' || !NAME.test(parts[2] ?? ''))
    throw bad('client.keyID must be https://<vault>/keys/<name>/<version> (a name of letters, digits and -)');
  const version = parts[3] ?? '';
  if (!VERSION.test(version))
    throw bad(
      `${url.host}/keys/${parts[2]} has no key version: Key Vault wraps and unwraps a versionless key with its newest version, ` +
        'so wraps would stop opening after a rotation. Make the CryptographyClient for a versioned key id (KeyVaultKey.id)',
    );
  return { host: url.host, name: parts[2]!, version };
}

export function azureKeyVault(opts: AzureKeyVaultOptions): KekProvider {
  if (opts === null || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', `kek.azureKeyVault needs options (got ${describe(opts)})`);
  const client = opts.client;
  if (!client || typeof client.wrapKey !== 'function' || typeof client.unwrapKey !== 'function')
    throw new TesseraError('ERR_ARGUMENT', 'kek.azureKeyVault: client must be a CryptographyClient of @azure/keyvault-keys (wrapKey, unwrapKey, keyID)');
  if (client.vaultUrl === '')
    throw new TesseraError('ERR_ARGUMENT', 'kek.azureKeyVault: client holds a local JsonWebKey; it must be for a key in a vault or Managed HSM');
  const { host, name, version } = parseKeyId(client.keyID);
  // A client made for a versionless id reports a versioned keyID once it has
  // read the key, yet still sends every operation to the newest version:
  // refuse it where the SDK shows it (RemoteCryptographyProvider.version).
  if ((client as { remoteProvider?: { version?: unknown } }).remoteProvider?.version === '')
    throw new TesseraError(
      'ERR_ARGUMENT',
      `kek.azureKeyVault: this CryptographyClient was made for the versionless id of ${host}/keys/${name}; make it for ${name}/${version}`,
    );
  const given = opts.algorithm === undefined ? undefined : ALGS.indexOf(opts.algorithm) + 1;
  if (given === 0) throw new TesseraError('ERR_ARGUMENT', `kek.azureKeyVault: algorithm must be ${ALGS.join(' or ')} (got ${describe(opts.algorithm)})`);
  const c = opts.context;
  if (c !== undefined && (c === null || typeof c !== 'object' || Array.isArray(c)))
    throw new TesseraError('ERR_ARGUMENT', 'kek.azureKeyVault: context must be an object of strings');
  const context = { ...(c ?? { purpose: 'tessera-kek-v1' }) };
  for (const [k, v] of Object.entries(context))
    if (typeof v !== 'string' || k.length === 0) throw new TesseraError('ERR_ARGUMENT', 'kek.azureKeyVault: context must map non-empty names to strings');
  const id = `azure-kv://${host}/keys/${name}/${version}`;
  const versionBytes = Buffer.from(version, 'ascii');

  async function call<R>(what: 'wrap' | 'unwrap', fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof TesseraError) throw e;
      const f = failureOf(e);
      if (transientFailure(e) === 'retry') throw new Transient(f.status, f.code); // kek.resilient decides
      // No status and no code: the client stopped before Key Vault answered (its credential gave no
      // token, or the key's operations or dates forbid the call); its message is not repeated.
      const why =
        f.status === undefined && f.code === undefined
          ? `the client failed before Key Vault answered (${f.name}: credential, key operations or validity dates)`
          : [f.status !== undefined ? `HTTP ${f.status}` : undefined, f.code ?? f.name, f.inner].filter(Boolean).join(' ');
      if (what === 'unwrap' && f.status === 400)
        throw new TesseraError('ERR_AUTH', `unwrap: Azure Key Vault ${id} refused the wrapped key (${why}: altered, or made by another key)`);
      throw new TesseraError('ERR_KEK', `${what}: Azure Key Vault ${id}: ${why}`);
    }
  }

  const raw: KekProvider = {
    id,
    async wrap(dataKey: Uint8Array) {
      if (!(dataKey instanceof Uint8Array) || dataKey.length === 0 || dataKey.length > MAX_DATA_KEY)
        throw new TesseraError('ERR_ARGUMENT', `wrap: the data key must be 1 to ${MAX_DATA_KEY} bytes`);
      const alg = given ?? 1;
      // RFC 3394 wraps whole 64-bit blocks; B is 32 bytes, so the data key must be too.
      if (alg === 2 && dataKey.length % 8 !== 0)
        throw new TesseraError('ERR_ARGUMENT', `wrap: A256KW (RFC 3394) wraps data keys of a multiple of 8 bytes (got ${dataKey.length})`);
      const payload = Buffer.concat([dataKey, binding(alg, context)]);
      let r: { result: Uint8Array };
      try {
        r = await call('wrap', () => client.wrapKey(ALGS[alg - 1]!, payload));
      } finally {
        payload.fill(0);
      }
      if (!(r?.result instanceof Uint8Array) || r.result.length === 0 || r.result.length > MAX_WRAPPED)
        throw new TesseraError('ERR_KEK', `wrap: Azure Key Vault ${id} answered without a wrapped key`);
      return new Uint8Array(Buffer.concat([Buffer.from([MAGIC, alg, versionBytes.length]), versionBytes, r.result]));
    },
    async unwrap(wrapped: Uint8Array) {
      if (!(wrapped instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `unwrap: wrapped must be a Uint8Array (got ${describe(wrapped)})`);
      const n = wrapped[2] ?? 0;
      const alg = wrapped[1] ?? 0;
      if (wrapped.length < 4 + n || wrapped.length > 3 + n + MAX_WRAPPED || wrapped[0] !== MAGIC || alg < 1 || alg > ALGS.length || n === 0)
        throw new TesseraError('ERR_FORMAT', 'unwrap: not an Azure Key Vault KEK envelope');
      const wrappedVersion = Buffer.from(wrapped.subarray(3, 3 + n)).toString('latin1');
      if (!VERSION.test(wrappedVersion)) throw new TesseraError('ERR_FORMAT', 'unwrap: not an Azure Key Vault KEK envelope (bad key version)');
      if (wrappedVersion !== version)
        throw new TesseraError(
          'ERR_AUTH',
          `unwrap: this key was wrapped by key version ${wrappedVersion}, not by ${id} (another key, or another version: unwrap with a client for that version)`,
        );
      if (given !== undefined && alg !== given)
        throw new TesseraError('ERR_AUTH', `unwrap: this key was wrapped with ${ALGS[alg - 1]}, not ${ALGS[given - 1]}`);
      const body = Uint8Array.from(wrapped.subarray(3 + n));
      if (alg === 2 && (body.length < 24 || body.length % 8 !== 0))
        throw new TesseraError('ERR_FORMAT', 'unwrap: an A256KW wrap is 24 bytes or more in multiples of 8');
      const r = await call('unwrap', () => client.unwrapKey(ALGS[alg - 1]!, body));
      const out = r?.result;
      if (!(out instanceof Uint8Array)) throw new TesseraError('ERR_KEK', `unwrap: Azure Key Vault ${id} answered without a key`);
      try {
        const keyLength = out.length - BINDING;
        if (keyLength < 1 || !timingSafeEqual(out.subarray(keyLength), binding(alg, context)))
          throw new TesseraError('ERR_AUTH', `unwrap: Azure Key Vault ${id} opened the wrapped key, but it is bound to another context`);
        return Uint8Array.from(out.subarray(0, keyLength));
      } finally {
        out.fill(0);
      }
    },
  };
  return resilient(raw, opts.resilience);
}
