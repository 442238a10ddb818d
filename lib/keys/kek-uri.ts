/**
 * KEK references as URIs (`kek.fromUri`, lib/keys/kek.ts): the forms users
 * know from Tink's key URIs (https://developers.google.com/tink/key-management-overview)
 * and RFC 7512 for PKCS#11. Every remote provider's `id` is its URI, and a
 * key store records that id (KeyringDoc.kekId, envelope files' kek id), so
 * `kek.fromUri((await store.load()).kekId, { client })` rebuilds the KEK a
 * store was made with, against the right service and key:
 *
 *   aws-kms://<key id | key ARN | alias ARN>             { client: KMSClient }
 *   azure-kv://<vault host>/keys/<name>[/<version>]     { client: CryptographyClient for that key }
 *   gcp-kms://projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>
 *                                                       { client: KeyManagementServiceClient }
 *   hcvault://<host[:port]>/<mount>/keys/<name>         { token, endpoint? (default https://<host>) }
 *   pkcs11:serial=<serial>;object=<label>[;...]         { hsm: an open Pkcs11Provider }
 *
 * The URI names the key; the options carry what a URI must not: clients,
 * credentials and tokens. A client or endpoint that points at another key or
 * host than the URI is ERR_ARGUMENT rather than a silent switch of KEK.
 * `context` / `associatedData` and `resilience` pass through to the provider.
 */
import { TesseraError } from '../errors';
import { describe } from '../format';
import type { KekProvider } from './kek-provider';
import { awsKms } from './kek-aws';
import { type AzureWrapAlgorithm, azureKeyVault } from './kek-azure';
import { gcpKms } from './kek-gcp';
import type { ResilienceOptions } from './kek-resilient';
import { vaultTransit } from './kek-vault';

/** Options of kek.fromUri: the client, token or HSM the URI's provider needs, and its options. */
export interface FromUriOptions {
  /** The service's SDK client (AWS, Azure, Google Cloud). */
  client?: unknown;
  /** Vault / OpenBao token. */
  token?: string;
  /** Vault address when it is not https://<host of the URI> (e.g. plain http on a loopback dev server). */
  endpoint?: string;
  /** Vault namespace. */
  namespace?: string;
  /** An open Pkcs11Provider (lib/hsm/pkcs11.ts) for pkcs11: URIs. */
  hsm?: { serial: string; kek(opts: { label: string }): Promise<KekProvider> | KekProvider };
  /** The provider's context (AWS encryption context, GCP AAD, Azure envelope binding). */
  context?: Record<string, string>;
  /** Azure: the wrap algorithm for new wraps (default RSA-OAEP-256; 'A256KW' for a Managed HSM AES key). */
  algorithm?: AzureWrapAlgorithm;
  /** Vault Transit associated data. */
  associatedData?: string;
  resilience?: ResilienceOptions;
}

function bad(msg: string): TesseraError {
  return new TesseraError('ERR_ARGUMENT', `kek.fromUri: ${msg}`);
}

function need<T>(v: T | undefined, what: string, scheme: string): T {
  if (v === undefined || v === null) throw bad(`a ${scheme} URI needs options.${what}`);
  return v;
}

/** RFC 7512 section 2.3: path attributes `name=value` separated by ';', values percent-encoded. */
export function parsePkcs11Uri(uri: string): Record<string, string> {
  const body = uri.slice('pkcs11:'.length).split('?')[0]!;
  const out: Record<string, string> = {};
  for (const part of body.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(`'${part.slice(0, 40)}' is not a name=value attribute of a pkcs11: URI (RFC 7512)`);
    try {
      out[part.slice(0, eq)] = decodeURIComponent(part.slice(eq + 1));
    } catch {
      throw bad('a pkcs11: URI attribute is not valid percent-encoding');
    }
  }
  return out;
}

/** The RFC 7512 URI of an HSM secret key: what a Pkcs11Provider's KEK reports as its id. */
export function pkcs11Uri(serial: string, label: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `pkcs11:serial=${enc(serial)};object=${enc(label)};type=secret-key`;
}

/**
 * An HSM key named by an RFC 7512 URI. Looking a key up is a token call, so
 * the provider resolves it on first use (a missing key fails that call);
 * its id is the canonical URI, as Pkcs11Provider.kek reports it.
 */
function hsmKek(uri: string, hsm: NonNullable<FromUriOptions['hsm']>): KekProvider {
  if (typeof hsm.kek !== 'function' || typeof hsm.serial !== 'string') throw bad('options.hsm must be an open Pkcs11Provider');
  const a = parsePkcs11Uri(uri);
  if (a.object === undefined) throw bad('a pkcs11: URI must name the key with object=<label>');
  if (a.serial !== undefined && a.serial !== hsm.serial) throw bad(`the URI names token serial ${a.serial}, the given HSM is ${hsm.serial}`);
  if (a.type !== undefined && a.type !== 'secret-key') throw bad(`a pkcs11: KEK is a secret key (type=${a.type.slice(0, 20)})`);
  const label = a.object;
  let key: Promise<KekProvider> | undefined;
  const resolve = () => {
    key ??= Promise.resolve(hsm.kek({ label }));
    key.catch(() => (key = undefined)); // a failed lookup is tried again next call
    return key;
  };
  return {
    id: pkcs11Uri(hsm.serial, label),
    wrap: async (dataKey) => (await resolve()).wrap(dataKey),
    unwrap: async (wrapped) => (await resolve()).unwrap(wrapped),
  };
}

/** The KEK a URI names. */
export function fromUri(uri: string, opts: FromUriOptions = {}): KekProvider {
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > 2048) throw bad(`the URI must be a non-empty string (got ${describe(uri)})`);
  if (opts === null || typeof opts !== 'object') throw bad(`options must be an object (got ${describe(opts)})`);
  const { context, resilience } = opts;
  const m = /^([a-z][a-z0-9+-]*):(?:\/\/)?(.*)$/.exec(uri);
  if (!m) throw bad('not a KEK URI (aws-kms://, azure-kv://, gcp-kms://, hcvault://, pkcs11:)');
  const [, scheme, rest] = m as unknown as [string, string, string];
  switch (scheme) {
    case 'aws-kms':
      return awsKms({ client: need(opts.client, 'client', scheme) as never, keyId: rest, context, resilience });
    case 'gcp-kms':
      return gcpKms({ client: need(opts.client, 'client', scheme) as never, keyName: rest, context, resilience });
    case 'azure-kv': {
      const client = need(opts.client, 'client', scheme) as { keyID?: unknown };
      const k = azureKeyVault({ client: client as never, context, resilience, ...(opts.algorithm && { algorithm: opts.algorithm }) });
      // The client is bound to one key: it must be the key the URI names.
      const want = `azure-kv://${rest}`;
      if (k.id !== want) throw bad(`the CryptographyClient is for ${k.id}, not for ${want}`);
      return k;
    }
    case 'hcvault': {
      const at = rest.indexOf('/');
      const keysAt = rest.lastIndexOf('/keys/');
      if (at <= 0 || keysAt <= at) throw bad('an hcvault URI is hcvault://<host>/<mount>/keys/<name>');
      const host = rest.slice(0, at);
      const endpoint = opts.endpoint ?? `https://${host}`;
      let given: URL;
      try {
        given = new URL(endpoint);
      } catch {
        throw bad('options.endpoint is not a URL');
      }
      if (given.host !== host) throw bad(`options.endpoint is ${given.host}, not the URI's host ${host}`);
      return vaultTransit({
        endpoint,
        token: need(opts.token, 'token', scheme),
        mount: rest.slice(at + 1, keysAt),
        key: rest.slice(keysAt + '/keys/'.length),
        namespace: opts.namespace,
        associatedData: opts.associatedData,
        resilience,
      });
    }
    case 'pkcs11':
      return hsmKek(uri, need(opts.hsm, 'hsm', scheme));
    default:
      throw bad(`unknown KEK URI scheme '${scheme.slice(0, 20)}' (aws-kms, azure-kv, gcp-kms, hcvault, pkcs11)`);
  }
}
