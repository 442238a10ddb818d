// An Azure Key Vault (or Managed HSM) endpoint for the tests, written from
// the REST reference:
//   https://learn.microsoft.com/en-us/rest/api/keyvault/keys/wrap-key/wrap-key
//   https://learn.microsoft.com/en-us/rest/api/keyvault/keys/unwrap-key/unwrap-key
//   https://learn.microsoft.com/en-us/rest/api/keyvault/keys/get-key/get-key
//   https://learn.microsoft.com/en-us/azure/key-vault/general/authentication-requests-and-responses
//   https://learn.microsoft.com/en-us/azure/key-vault/general/rest-error-codes
// Only what the official @azure/keyvault-keys CryptographyClient sends for
// wrapKey / unwrapKey, over HTTPS on 127.0.0.1 (the SDK sends bearer tokens
// over TLS only), with a self-signed certificate made by the openssl CLI at
// start (`ca` is what the client must trust):
// - GET /keys/<name>[/<version>]?api-version=... -> KeyBundle {key: {kid,
//   kty, key_ops, n, e}, attributes}. The SDK reads the key before its first
//   operation; symmetric keys are returned without their bytes.
// - POST /keys/<name>/<version>/wrapkey and /unwrapkey {alg, value
//   (base64url)} -> {kid, value}. RSA keys: RSA-OAEP-256 (SHA-256, MGF1
//   SHA-256); oct-HSM keys (Managed HSM): A256KW, RFC 3394. A wrap that does
//   not open is 400 {error: {code: "BadParameter"}}; an algorithm the key
//   does not support too.
// - Challenge-based authentication: a request without a bearer token is 401
//   with `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
//   resource="<https://vault.azure.net | https://managedhsm.azure.net>"`; a
//   token other than `token` is 401 too.
// - Keys have versions (rotate adds one; a versionless GET reads the newest);
//   a disabled key answers every operation with 403 {error: {code:
//   "Forbidden", innererror: {code: "KeyDisabled"}}}; an unknown one 404
//   KeyNotFound.
// - Injected faults: `faults` holds statuses (429 with Retry-After, or 503)
//   for the next authenticated key operations (wrapkey / unwrapkey), each
//   used once; `log` records every request.
import { execFileSync } from 'node:child_process';
import {
  constants,
  createCipheriv,
  createDecipheriv,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  randomUUID,
} from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';

export type Kty = 'RSA' | 'oct-HSM';

export interface KvRequest {
  method: string;
  /** Path without the query. */
  path: string;
  status: number;
  /** Whether it carried the expected bearer token. */
  authorized: boolean;
  /** The `alg` of a wrapkey / unwrapkey body. */
  alg?: string;
  /** Bytes of the value a wrapkey body asked to wrap. */
  bytes?: number;
}

export interface KeyVaultFake {
  /** The vault's base URL, https://127.0.0.1:<port>. */
  url: string;
  /** PEM of the server's self-signed certificate, for the client's tlsOptions.ca. */
  ca: string;
  /** The one bearer token the vault accepts. */
  token: string;
  tenant: string;
  /** The challenge's resource. */
  resource: string;
  /** Adds a key (version 1); returns its versioned id. */
  createKey(name: string, kty: Kty): string;
  /** The versioned id of a key's newest version, or of version n (1-based). */
  keyId(name: string, n?: number): string;
  /** A new newest version; returns its id. Older versions still unwrap. */
  rotate(name: string): string;
  /** Disables (or enables again) every version of a key. */
  disable(name: string, disabled?: boolean): void;
  faults: number[];
  log: KvRequest[];
  /** wrapkey / unwrapkey requests so far. */
  keyOperations(): number;
  close(): Promise<void>;
}

type Version = { id: string; kty: Kty; rsa?: { pub: KeyObject; priv: KeyObject; n: string; e: string }; aes?: Buffer };
type Key = { versions: Version[]; enabled: boolean };

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex'); // RFC 3394 section 2.2.3.1

/** A self-signed certificate for 127.0.0.1 and localhost, made by the openssl CLI in a temporary directory. */
function selfSigned(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-kv-tls-'));
  try {
    const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-keyout',
        key,
        '-out',
        cert,
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'pipe' },
    );
    return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function startKeyVault(opts: { resource?: string } = {}): Promise<KeyVaultFake> {
  const resource = opts.resource ?? 'https://vault.azure.net';
  const tenant = randomUUID();
  const token = `eyJ0.${randomBytes(24).toString('base64url')}`;
  const tls = selfSigned();
  const keys = new Map<string, Key>();
  const faults: number[] = [];
  const log: KvRequest[] = [];
  let base = '';

  const newVersion = (name: string, kty: Kty): Version => {
    const id = `${base}/keys/${name}/${randomBytes(16).toString('hex')}`;
    if (kty === 'oct-HSM') return { id, kty, aes: randomBytes(32) };
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    return { id, kty, rsa: { pub: publicKey, priv: privateKey, n: jwk.n!, e: jwk.e! } };
  };

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', base);
      const authorized = req.headers.authorization === `Bearer ${token}`;
      const entry: KvRequest = { method: req.method ?? '', path: url.pathname, status: 0, authorized };
      log.push(entry);
      const send = (status: number, body: object, headers: Record<string, string> = {}) => {
        entry.status = status;
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      };
      const fail = (status: number, code: string, message: string, inner?: string, headers?: Record<string, string>) =>
        send(status, { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } }, headers);

      // Challenge-based authentication: every 401 carries the challenge.
      if (!authorized) {
        const challenge = `Bearer authorization="https://login.microsoftonline.com/${tenant}", resource="${resource}"`;
        const message = req.headers.authorization ? 'AKV10032: Invalid issuer or token.' : 'AKV10000: Request is missing a Bearer or PoP token.';
        return fail(401, 'Unauthorized', message, undefined, { 'www-authenticate': challenge });
      }
      if (!url.searchParams.get('api-version')) return fail(400, 'BadParameter', 'The api-version query parameter is required.');
      const m = /^\/keys\/([0-9A-Za-z-]+)(?:\/([0-9a-f]*))?(?:\/(wrapkey|unwrapkey))?$/.exec(url.pathname);
      if (!m || (m[3] ? req.method !== 'POST' : req.method !== 'GET')) return fail(404, 'NotFound', 'No such operation.');
      const [, name, versionId, op] = m as unknown as [string, string, string | undefined, string | undefined];
      if (op) {
        const fault = faults.shift();
        if (fault === 429)
          return fail(429, 'Throttled', 'Request was not processed because too many requests were received.', undefined, { 'retry-after': '1' });
        if (fault !== undefined) return fail(fault, 'ServiceUnavailable', 'The service is unavailable.');
      }
      const key = keys.get(name);
      const v = key && (versionId ? key.versions.find((x) => x.id.endsWith(`/${versionId}`)) : key.versions.at(-1));
      if (!key || !v) return fail(404, 'KeyNotFound', `A key with (name/id) ${name}${versionId ? `/${versionId}` : ''} was not found in this key vault.`);
      if (!key.enabled) return fail(403, 'Forbidden', `Operation ${op ?? 'get'} is not allowed on a disabled key.`, 'KeyDisabled');
      if (!op) {
        const jwk = { kid: v.id, kty: v.kty, key_ops: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'], ...(v.rsa ? { n: v.rsa.n, e: v.rsa.e } : {}) };
        return send(200, {
          key: jwk,
          attributes: { enabled: true, created: 1700000000, updated: 1700000000, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
        });
      }
      let body: { alg?: unknown; value?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return fail(400, 'BadParameter', 'The request body is not JSON.');
      }
      entry.alg = typeof body.alg === 'string' ? body.alg : undefined;
      if (typeof body.value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(body.value))
        return fail(400, 'BadParameter', "Property 'value' is required and must be base64url.");
      const value = Buffer.from(body.value, 'base64url');
      if (op === 'wrapkey') entry.bytes = value.length;
      const supported = v.kty === 'RSA' ? 'RSA-OAEP-256' : 'A256KW';
      if (body.alg !== supported) return fail(400, 'BadParameter', `Algorithm ${String(body.alg).slice(0, 20)} is not supported for key type ${v.kty}.`);
      let out: Buffer;
      try {
        if (v.rsa) {
          const k = { key: op === 'wrapkey' ? v.rsa.pub : v.rsa.priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
          out = op === 'wrapkey' ? publicEncrypt(k, value) : privateDecrypt(k, value);
        } else {
          if (value.length < 16 || value.length % 8 !== 0) return fail(400, 'BadParameter', 'The value length is not valid for A256KW.');
          const c = op === 'wrapkey' ? createCipheriv('id-aes256-wrap', v.aes!, KW_IV) : createDecipheriv('id-aes256-wrap', v.aes!, KW_IV);
          out = Buffer.concat([c.update(value), c.final()]);
        }
      } catch {
        return fail(400, 'BadParameter', v.rsa ? 'Error occurred while decoding OAEP padding.' : 'The wrapped key failed its integrity check.');
      }
      return send(200, { kid: v.id, value: b64u(out) });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;

  const must = (name: string) => {
    const k = keys.get(name);
    if (!k) throw new Error(`no key ${name}`);
    return k;
  };
  return {
    url: base,
    ca: tls.cert,
    token,
    tenant,
    resource,
    createKey(name, kty) {
      const v = newVersion(name, kty);
      keys.set(name, { versions: [v], enabled: true });
      return v.id;
    },
    keyId: (name, n) => {
      const vs = must(name).versions;
      return vs[n === undefined ? vs.length - 1 : n - 1]!.id;
    },
    rotate(name) {
      const k = must(name);
      const v = newVersion(name, k.versions[0]!.kty);
      k.versions.push(v);
      return v.id;
    },
    disable: (name, disabled = true) => {
      must(name).enabled = !disabled;
    },
    faults,
    log,
    keyOperations: () => log.filter((r) => /\/(wrapkey|unwrapkey)$/.test(r.path)).length,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
