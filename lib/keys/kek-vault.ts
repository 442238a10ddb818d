/**
 * HashiCorp Vault / OpenBao Transit as a KEK (`kek.vaultTransit`,
 * lib/keys/kek.ts), over its HTTP API
 * (https://developer.hashicorp.com/vault/api-docs/secret/transit):
 * `POST /v1/<mount>/encrypt/<key>` and `/decrypt/<key>` with the data key
 * as base64 `plaintext` and the binding as base64 `associated_data` (AEAD
 * key types: aes256-gcm96, chacha20-poly1305), authenticated by Vault: a
 * wrapped key opens only under the same associated data.
 *
 * - tessera holds the endpoint and a token the caller gives (the token is
 *   sent as X-Vault-Token and never appears in an error).
 * - id: `hcvault://<host>/<mount>/keys/<key>`, the key's URI (Tink's form).
 * - wrap output: the UTF-8 bytes of Vault's ciphertext (`vault:v<N>:...`),
 *   so any Vault client can read what the store holds.
 * - Failures: Vault refusing a ciphertext (altered, other key, other
 *   associated data) is ERR_AUTH; permission denied and other 4xx answers
 *   are ERR_KEK and never retried; throttling (429), 5xx (a sealed or
 *   standby Vault) and network errors are retried by `kek.resilient`
 *   (options.resilience) and end as ERR_KEK_UNAVAILABLE.
 */
import { TesseraError } from '../errors';
import { describe } from '../format';
import type { KekProvider } from './kek-provider';
import { type ResilienceOptions, resilient } from './kek-resilient';

/** Options of kek.vaultTransit (docs/API.md "Key-encryption keys in a cloud KMS or Vault"). */
export interface VaultTransitOptions {
  /** The Vault address, e.g. https://vault.example:8200 */
  endpoint: string;
  /** A Vault token allowed to encrypt and decrypt with the key (sent as X-Vault-Token; never in an error). */
  token: string;
  /** The transit key's name. */
  key: string;
  /** Where the transit engine is mounted (default 'transit'). */
  mount?: string;
  /** Vault Enterprise / OpenBao namespace (X-Vault-Namespace). */
  namespace?: string;
  /** What every wrapped key is bound to (default 'tessera-kek-v1'). */
  associatedData?: string;
  /** Timeouts, retries and the circuit breaker (kek.resilient). */
  resilience?: ResilienceOptions;
  /** For tests or proxies: the fetch to use (default the global fetch). */
  fetch?: typeof fetch;
}

/** A failure worth another attempt: carries only the HTTP status or network code (kek-resilient.ts classifies it). */
class Transient extends Error {
  constructor(
    readonly status: number | undefined,
    readonly code: string | undefined,
  ) {
    super(status !== undefined ? `HTTP ${status}` : (code ?? 'network error'));
    this.name = 'VaultTransient';
  }
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;

function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0)
    throw new TesseraError('ERR_ARGUMENT', `kek.vaultTransit: ${name} must be a non-empty string (got ${describe(v)})`);
  return v;
}

export function vaultTransit(opts: VaultTransitOptions): KekProvider {
  if (opts === null || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', `kek.vaultTransit needs options (got ${describe(opts)})`);
  let url: URL;
  try {
    url = new URL(str(opts.endpoint, 'endpoint'));
  } catch (e) {
    if (e instanceof TesseraError) throw e;
    throw new TesseraError('ERR_ARGUMENT', 'kek.vaultTransit: endpoint is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TesseraError('ERR_ARGUMENT', 'kek.vaultTransit: endpoint must be an http(s) URL');
  const token = str(opts.token, 'token');
  const key = str(opts.key, 'key');
  const mount = opts.mount === undefined ? 'transit' : str(opts.mount, 'mount');
  if (!NAME.test(key) || !/^[A-Za-z0-9_./-]{1,256}$/.test(mount) || mount.split('/').includes('..'))
    throw new TesseraError('ERR_ARGUMENT', 'kek.vaultTransit: key and mount are Vault path names (letters, digits, _ . -)');
  const ad = Buffer.from(opts.associatedData ?? 'tessera-kek-v1', 'utf8').toString('base64');
  const doFetch = opts.fetch ?? fetch;
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}/v1/${mount}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-vault-token': token };
  if (opts.namespace !== undefined) headers['x-vault-namespace'] = str(opts.namespace, 'namespace');
  const id = `hcvault://${url.host}/${mount}/keys/${key}`;

  async function post(op: 'encrypt' | 'decrypt', body: object): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await doFetch(`${base}/${op}/${key}`, { method: 'POST', headers, body: JSON.stringify(body) });
    } catch (e) {
      const c = (e as { cause?: { code?: unknown } })?.cause?.code;
      throw new Transient(undefined, typeof c === 'string' ? c : 'ECONNREFUSED');
    }
    let json: Record<string, unknown> = {};
    try {
      json = (await res.json()) as Record<string, unknown>;
    } catch {
      // a body that is not JSON: judged by the status alone
    }
    if (res.ok) return json;
    if (res.status === 408 || res.status === 429 || res.status >= 500) throw new Transient(res.status, undefined);
    const errors = Array.isArray(json.errors) ? json.errors.filter((x): x is string => typeof x === 'string').join('; ') : '';
    if (op === 'decrypt' && res.status === 400 && /authenticat|decrypt|cipher|invalid ciphertext|invalid key version/i.test(errors))
      throw new TesseraError('ERR_AUTH', `Vault ${id} refused the wrapped key (altered, another key, or other associated data)`);
    // Vault's messages name paths and reasons, not request bodies; cut to one line.
    throw new TesseraError('ERR_KEK', `Vault ${id}: HTTP ${res.status}${errors ? `: ${errors.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`);
  }

  const raw: KekProvider = {
    id,
    async wrap(dataKey: Uint8Array) {
      if (!(dataKey instanceof Uint8Array) || dataKey.length === 0) throw new TesseraError('ERR_ARGUMENT', 'wrap: the data key must be a non-empty Uint8Array');
      const j = await post('encrypt', { plaintext: Buffer.from(dataKey).toString('base64'), associated_data: ad });
      const ct = (j.data as { ciphertext?: unknown } | undefined)?.ciphertext;
      if (typeof ct !== 'string' || !ct.startsWith('vault:v')) throw new TesseraError('ERR_KEK', `Vault ${id}: encrypt answered without a ciphertext`);
      return new Uint8Array(Buffer.from(ct, 'utf8'));
    },
    async unwrap(wrapped: Uint8Array) {
      if (!(wrapped instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `unwrap: wrapped must be a Uint8Array (got ${describe(wrapped)})`);
      const ct = Buffer.from(wrapped).toString('utf8');
      if (!/^vault:v[1-9][0-9]{0,9}:[A-Za-z0-9+/=]{1,8192}$/.test(ct)) throw new TesseraError('ERR_FORMAT', 'unwrap: not a Vault transit ciphertext');
      const j = await post('decrypt', { ciphertext: ct, associated_data: ad });
      const pt = (j.data as { plaintext?: unknown } | undefined)?.plaintext;
      if (typeof pt !== 'string') throw new TesseraError('ERR_KEK', `Vault ${id}: decrypt answered without a plaintext`);
      return new Uint8Array(Buffer.from(pt, 'base64'));
    },
  };
  return resilient(raw, opts.resilience);
}
