// A Google Cloud KMS endpoint for the tests, written from the REST reference
// (https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys/encrypt
// and .../decrypt), the CRC-32C integrity fields of
// https://cloud.google.com/kms/docs/data-integrity-guidelines and the
// google.rpc error model (https://cloud.google.com/apis/design/errors).
// Driven by the official @google-cloud/kms KeyManagementServiceClient over
// its REST transport, pointed at 127.0.0.1.
// - POST /v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/**}:encrypt
//   {plaintext, additionalAuthenticatedData?, plaintextCrc32c?,
//   additionalAuthenticatedDataCrc32c?} -> {name (the CryptoKeyVersion used),
//   ciphertext, ciphertextCrc32c, verifiedPlaintextCrc32c?,
//   verifiedAdditionalAuthenticatedDataCrc32c?, protectionLevel}
// - POST /v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/*}:decrypt
//   {ciphertext, additionalAuthenticatedData?, ciphertextCrc32c?,
//   additionalAuthenticatedDataCrc32c?} -> {plaintext, plaintextCrc32c,
//   usedPrimary?, protectionLevel}
//   Proto3 JSON: bytes in base64, Int64Value as a decimal string, false and
//   empty fields omitted, enums as numbers under `$alt=json;enum-encoding=int`.
//   Unknown fields are INVALID_ARGUMENT, as the real API's JSON parser.
// - Errors: {"error": {"code": <HTTP>, "message", "status"}}: a ciphertext that
//   does not open under the key and AAD, or a request checksum that does not
//   match, is INVALID_ARGUMENT (400); a disabled version FAILED_PRECONDITION
//   (400); an unknown key or a denied caller PERMISSION_DENIED (403, as KMS
//   does not reveal whether a key exists); a bearer token other than the
//   one handed out UNAUTHENTICATED (401); injected faults RESOURCE_EXHAUSTED
//   (429) and UNAVAILABLE (503).
// Ciphertext layout (this fake's own; the real one is opaque too):
// 1 | u32 version | nonce(12) | AES-256-GCM(ct | tag), AAD = u32 len | key name | request AAD.
// The version is recorded so that wraps still open after a rotation.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as http from 'node:http';

export type Corruption =
  /** Flip a bit of the plaintext (encrypt) or ciphertext (decrypt) as received, before the request checksums are checked. */
  | 'request'
  /** Flip a bit of the returned ciphertext (encrypt) or plaintext (decrypt) after its checksum is computed. */
  | 'response'
  /** Leave out verifiedPlaintextCrc32c, as if the request checksum had not arrived (encrypt). */
  | 'unverified'
  /** Name another key's version in the encrypt response. */
  | 'name';

export interface GcpRequest {
  method: string;
  /** The path without the query, e.g. /v1/projects/.../cryptoKeys/tessera:encrypt */
  path: string;
  query: string;
  /** The parsed JSON body (undefined if none or malformed). */
  body: Record<string, unknown> | undefined;
}

export interface GcpKmsFake {
  url: string;
  port: number;
  /** The OAuth access token the test's auth client hands out. */
  token: string;
  /** Full CryptoKey name of a key by short id. */
  keyName(id: string): string;
  /** Disable (or enable again) the key's primary version. */
  disable(id: string, on?: boolean): void;
  /** Take the caller's permission on the key away (or give it back). */
  deny(id: string, on?: boolean): void;
  /** A new primary version; older versions still decrypt. Returns its number. */
  rotate(id: string): number;
  /** HTTP statuses (429 or 503) to answer the next requests with, one each. */
  faults: (429 | 503)[];
  /** Corruptions applied to the next requests that reach a key, one each. */
  corrupt: Corruption[];
  requests: GcpRequest[];
  close(): Promise<void>;
}

const STATUS_HTTP = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
} as const;
type Status = keyof typeof STATUS_HTTP;

class RpcError extends Error {
  constructor(
    readonly status: Status,
    message: string,
  ) {
    super(message);
  }
}

const ENCRYPT = /^\/v1\/(projects\/[^/:]+\/locations\/[^/:]+\/keyRings\/[^/:]+\/cryptoKeys\/[^/:]+(?:\/cryptoKeyVersions\/[^/:]+)?):encrypt$/;
const DECRYPT = /^\/v1\/(projects\/[^/:]+\/locations\/[^/:]+\/keyRings\/[^/:]+\/cryptoKeys\/[^/:]+):decrypt$/;
const FIELDS = {
  encrypt: ['plaintext', 'additionalAuthenticatedData', 'plaintextCrc32c', 'additionalAuthenticatedDataCrc32c'],
  decrypt: ['ciphertext', 'additionalAuthenticatedData', 'ciphertextCrc32c', 'additionalAuthenticatedDataCrc32c'],
};
const LIMIT = 65536; // plaintext and AAD: 64 KiB each

/**
 * CRC-32C (RFC 3720 section 12.1), bit by bit: written apart from
 * lib/keys/crc32c.ts (table-driven) so that the two check each other.
 */
function crc32c(data: Uint8Array): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  return ~c >>> 0;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A proto3 JSON bytes field (standard or URL-safe base64, padding optional). */
function bytesField(body: Record<string, unknown>, field: string, required: boolean): Buffer {
  const v = body[field];
  if (v === undefined) {
    if (required) throw new RpcError('INVALID_ARGUMENT', `${field} is required`);
    return Buffer.alloc(0);
  }
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v))
    throw new RpcError('INVALID_ARGUMENT', `Invalid value at '${field}' (TYPE_BYTES), Base64 decoding failed`);
  return Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64');
}

/** A proto3 JSON Int64Value (a decimal string, or a number). */
function int64Field(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if ((typeof v === 'string' && /^[0-9]{1,19}$/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) return Number(v);
  throw new RpcError('INVALID_ARGUMENT', `Invalid value at '${field}' (TYPE_INT64), ${JSON.stringify(v)}`);
}

function checkCrc(data: Buffer, crc: number | undefined, field: string, dataField: string): void {
  if (crc !== undefined && crc !== crc32c(data))
    throw new RpcError('INVALID_ARGUMENT', `The checksum in field ${field} did not match the data in field ${dataField}.`);
}

export async function startGcpKms(ids: string[] = ['tessera'], project = 'tessera-test', location = 'global', ring = 'tessera-ring'): Promise<GcpKmsFake> {
  const token = `ya29.${randomBytes(24).toString('base64url')}`;
  const keyName = (id: string) => `projects/${project}/locations/${location}/keyRings/${ring}/cryptoKeys/${id}`;
  type Key = { versions: { key: Buffer; enabled: boolean }[]; primary: number; denied: boolean };
  const keys = new Map<string, Key>(ids.map((id) => [keyName(id), { versions: [{ key: randomBytes(32), enabled: true }], primary: 1, denied: false }]));
  const faults: (429 | 503)[] = [];
  const corrupt: Corruption[] = [];
  const requests: GcpRequest[] = [];
  const flip = (b: Buffer) => {
    if (b.length > 0) b[b.length >> 1]! ^= 0x10;
  };
  const gcmAad = (name: string, aad: Buffer) => Buffer.concat([u32(Buffer.byteLength(name)), Buffer.from(name), aad]);

  /** The key a request names, once the caller may use it. */
  function keyFor(name: string, permission: string): Key {
    const k = keys.get(name);
    if (!k || k.denied) throw new RpcError('PERMISSION_DENIED', `Permission '${permission}' denied on resource '${name}' (or it may not exist).`);
    return k;
  }

  function encrypt(target: string, body: Record<string, unknown>, numericEnums: boolean): object {
    const m = /^(.*?)(?:\/cryptoKeyVersions\/([^/]+))?$/.exec(target)!;
    const name = m[1]!;
    const k = keyFor(name, 'cloudkms.cryptoKeyVersions.useToEncrypt');
    const version = m[2] === undefined ? k.primary : Number(m[2]);
    const v = Number.isInteger(version) ? k.versions[version - 1] : undefined;
    if (!v) throw new RpcError('NOT_FOUND', `${target} not found.`);
    if (!v.enabled) throw new RpcError('FAILED_PRECONDITION', `${name}/cryptoKeyVersions/${version} is not enabled, current state is: DISABLED.`);
    const plaintext = bytesField(body, 'plaintext', true);
    const aad = bytesField(body, 'additionalAuthenticatedData', false);
    if (plaintext.length > LIMIT || aad.length > LIMIT) throw new RpcError('INVALID_ARGUMENT', 'The plaintext or additional authenticated data is too large.');
    const fault = corrupt.shift();
    if (fault === 'request') flip(plaintext);
    const ptCrc = int64Field(body, 'plaintextCrc32c');
    const aadCrc = int64Field(body, 'additionalAuthenticatedDataCrc32c');
    checkCrc(plaintext, ptCrc, 'plaintext_crc32c', 'plaintext');
    checkCrc(aad, aadCrc, 'additional_authenticated_data_crc32c', 'additional_authenticated_data');
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', v.key, nonce).setAAD(gcmAad(name, aad));
    const ciphertext = Buffer.concat([Buffer.from([1]), u32(version), nonce, c.update(plaintext), c.final(), c.getAuthTag()]);
    const crc = crc32c(ciphertext);
    if (fault === 'response') flip(ciphertext);
    const otherName = [...keys.keys()].find((n) => n !== name) ?? `${name}-other`;
    return {
      name: `${fault === 'name' ? otherName : name}/cryptoKeyVersions/${version}`,
      ciphertext: ciphertext.toString('base64'),
      ciphertextCrc32c: String(crc),
      ...(ptCrc !== undefined && fault !== 'unverified' ? { verifiedPlaintextCrc32c: true } : {}),
      ...(aadCrc !== undefined ? { verifiedAdditionalAuthenticatedDataCrc32c: true } : {}),
      protectionLevel: numericEnums ? 1 : 'SOFTWARE',
    };
  }

  function decrypt(name: string, body: Record<string, unknown>, numericEnums: boolean): object {
    const k = keyFor(name, 'cloudkms.cryptoKeyVersions.useToDecrypt');
    const ciphertext = bytesField(body, 'ciphertext', true);
    const aad = bytesField(body, 'additionalAuthenticatedData', false);
    if (aad.length > LIMIT) throw new RpcError('INVALID_ARGUMENT', 'The additional authenticated data is too large.');
    const fault = corrupt.shift();
    if (fault === 'request') flip(ciphertext);
    checkCrc(ciphertext, int64Field(body, 'ciphertextCrc32c'), 'ciphertext_crc32c', 'ciphertext');
    checkCrc(aad, int64Field(body, 'additionalAuthenticatedDataCrc32c'), 'additional_authenticated_data_crc32c', 'additional_authenticated_data');
    const failed = new RpcError('INVALID_ARGUMENT', "Decryption failed: verify that 'name' refers to the correct CryptoKey.");
    if (ciphertext.length < 1 + 4 + 12 + 16 || ciphertext[0] !== 1) throw failed;
    const version = ciphertext.readUInt32BE(1);
    const v = k.versions[version - 1];
    if (!v) throw failed;
    if (!v.enabled) throw new RpcError('FAILED_PRECONDITION', `${name}/cryptoKeyVersions/${version} is not enabled, current state is: DISABLED.`);
    let plaintext: Buffer;
    try {
      const d = createDecipheriv('aes-256-gcm', v.key, ciphertext.subarray(5, 17)).setAAD(gcmAad(name, aad));
      d.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
      plaintext = Buffer.concat([d.update(ciphertext.subarray(17, ciphertext.length - 16)), d.final()]);
    } catch {
      throw failed;
    }
    const crc = crc32c(plaintext);
    if (fault === 'response') flip(plaintext);
    return {
      plaintext: plaintext.toString('base64'),
      plaintextCrc32c: String(crc),
      ...(version === k.primary ? { usedPrimary: true } : {}),
      protectionLevel: numericEnums ? 1 : 'SOFTWARE',
    };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const [path = '', query = ''] = (req.url ?? '').split('?', 2);
      let body: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
      } catch {
        // judged below
      }
      requests.push({ method: req.method ?? '', path, query, body });
      const send = (status: number, json: object) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify(json));
      };
      const fail = (status: Status, message: string) => send(STATUS_HTTP[status], { error: { code: STATUS_HTTP[status], message, status } });
      const fault = faults.shift();
      if (fault === 429) return fail('RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Cryptographic requests' of service 'cloudkms.googleapis.com'.");
      if (fault === 503) return fail('UNAVAILABLE', 'The service is currently unavailable.');
      if (req.headers.authorization !== `Bearer ${token}`)
        return fail(
          'UNAUTHENTICATED',
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        );
      const enc = ENCRYPT.exec(path);
      const dec = DECRYPT.exec(path);
      if (req.method !== 'POST' || (!enc && !dec)) return fail('NOT_FOUND', `The requested URL ${path} was not found on this server.`);
      if (!body) return fail('INVALID_ARGUMENT', 'Invalid JSON payload received.');
      const op = enc ? 'encrypt' : 'decrypt';
      const unknown = Object.keys(body).find((f) => !FIELDS[op].includes(f));
      if (unknown !== undefined) return fail('INVALID_ARGUMENT', `Invalid JSON payload received. Unknown name "${unknown}": Cannot find field.`);
      const numericEnums = decodeURIComponent(query).split('&').includes('$alt=json;enum-encoding=int');
      try {
        const name = decodeURIComponent((enc ?? dec)![1]!);
        return send(200, enc ? encrypt(name, body, numericEnums) : decrypt(name, body, numericEnums));
      } catch (e) {
        if (e instanceof RpcError) return fail(e.status, e.message);
        throw e;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const key = (id: string) => {
    const k = keys.get(keyName(id));
    if (!k) throw new Error(`no key ${id}`);
    return k;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    keyName,
    disable: (id, on = true) => {
      const k = key(id);
      k.versions[k.primary - 1]!.enabled = !on;
    },
    deny: (id, on = true) => {
      key(id).denied = on;
    },
    rotate: (id) => {
      const k = key(id);
      k.versions.push({ key: randomBytes(32), enabled: true });
      return (k.primary = k.versions.length);
    },
    faults,
    corrupt,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections(); // the client keeps connections alive
      }),
  };
}
