// An AWS KMS endpoint for the tests, written from the KMS API reference
// (https://docs.aws.amazon.com/kms/latest/APIReference/) and its JSON 1.1
// protocol: POST / with X-Amz-Target "TrentService.<Operation>", JSON
// bodies with blobs in base64, errors as HTTP 400/500 with
// {"__type": "<ExceptionName>", "message": ...}. Driven by the official
// @aws-sdk/client-kms KMSClient pointed at 127.0.0.1.
// - Encrypt {KeyId, Plaintext, EncryptionContext?} -> {CiphertextBlob, KeyId, EncryptionAlgorithm}
// - Decrypt {CiphertextBlob, KeyId?, EncryptionContext?} -> {Plaintext, KeyId, EncryptionAlgorithm}
//   The context is authenticated: another context is InvalidCiphertextException;
//   a KeyId other than the blob's is IncorrectKeyException.
// - GenerateDataKey {KeyId, NumberOfBytes, EncryptionContext?} -> {CiphertextBlob, Plaintext, KeyId}
// - ReEncrypt {CiphertextBlob, SourceKeyId?, SourceEncryptionContext?,
//   DestinationKeyId, DestinationEncryptionContext?} -> {CiphertextBlob, SourceKeyId, KeyId}
//   (the plaintext never leaves the service)
// - Keys can be disabled (DisabledException); requests must carry a SigV4
//   Authorization header for the expected access key id
//   (UnrecognizedClientException otherwise); injected faults answer with
//   ThrottlingException (400) or KMSInternalException (500).
// The blob is this fake's own layout: 1 | key id length | key id | nonce | ct | tag.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as http from 'node:http';

export interface KmsFake {
  url: string;
  accessKeyId: string;
  region: string;
  /** ARN of each key by short name. */
  arn(name: string): string;
  disable(name: string, disabled?: boolean): void;
  /** Exception names to answer with before serving normally (each used once). */
  faults: string[];
  /** X-Amz-Target of each request. */
  requests: string[];
  close(): Promise<void>;
}

export async function startKms(names: string[] = ['tessera']): Promise<KmsFake> {
  const region = 'us-east-1';
  const account = '111122223333';
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const keys = new Map(names.map((n) => [`arn:aws:kms:${region}:${account}:key/${n}`, { key: randomBytes(32), enabled: true }]));
  const byName = (n: string) => `arn:aws:kms:${region}:${account}:key/${n}`;
  const resolveKey = (id: unknown) => {
    if (typeof id !== 'string') return undefined;
    const arn = id.startsWith('arn:') ? id : byName(id);
    return keys.has(arn) ? arn : undefined;
  };
  const faults: string[] = [];
  const requests: string[] = [];
  const aadOf = (ctx: unknown) =>
    Buffer.from(JSON.stringify(Object.entries((ctx as Record<string, string>) ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      requests.push(target);
      const reply = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      const fail = (type: string, message: string) => reply(type === 'KMSInternalException' ? 500 : 400, { __type: type, message });
      const fault = faults.shift();
      if (fault) return fail(fault, 'injected');
      if (!String(req.headers.authorization ?? '').startsWith(`AWS4-HMAC-SHA256 Credential=${accessKeyId}/`))
        return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        return fail('SerializationException', 'bad JSON');
      }
      type Key = { key: Buffer; enabled: boolean };
      const usable = (id: unknown): [string, Key] | undefined => {
        const arn = resolveKey(id);
        if (!arn) return void fail('NotFoundException', 'Key not found');
        const k = keys.get(arn)!;
        if (!k.enabled) return void fail('DisabledException', `${arn} is disabled.`);
        return [arn, k];
      };
      const seal = ([arn, k]: [string, Key], pt: Buffer, ctx: unknown) => {
        const nonce = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', k.key, nonce).setAAD(aadOf(ctx));
        const ct = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
        return Buffer.concat([Buffer.from([1, arn.length]), Buffer.from(arn), nonce, ct]).toString('base64');
      };
      /** The blob's plaintext and key, or undefined once the error is sent. */
      const open = (b64: unknown, keyId: unknown, ctx: unknown): [Buffer, string] | undefined => {
        const blob = Buffer.from(String(b64), 'base64');
        if (blob.length < 2 + 28 || blob[0] !== 1 || blob.length < 2 + blob[1]! + 28) return void fail('InvalidCiphertextException', '');
        const arn = blob.subarray(2, 2 + blob[1]!).toString();
        const k = keys.get(arn);
        if (!k) return void fail('InvalidCiphertextException', '');
        if (keyId !== undefined && resolveKey(keyId) !== arn)
          return void fail('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
        if (!k.enabled) return void fail('DisabledException', `${arn} is disabled.`);
        const rest = blob.subarray(2 + blob[1]!);
        try {
          const d = createDecipheriv('aes-256-gcm', k.key, rest.subarray(0, 12)).setAAD(aadOf(ctx));
          d.setAuthTag(rest.subarray(rest.length - 16));
          return [Buffer.concat([d.update(rest.subarray(12, rest.length - 16)), d.final()]), arn];
        } catch {
          return void fail('InvalidCiphertextException', '');
        }
      };
      const ok = (fields: object) => reply(200, { ...fields, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
      if (target === 'TrentService.Encrypt') {
        const k = usable(body.KeyId);
        if (k) ok({ CiphertextBlob: seal(k, Buffer.from(String(body.Plaintext), 'base64'), body.EncryptionContext), KeyId: k[0] });
        return;
      }
      if (target === 'TrentService.GenerateDataKey') {
        const n = body.NumberOfBytes;
        if (typeof n !== 'number' || n < 1 || n > 1024) return fail('ValidationException', 'NumberOfBytes must be 1 to 1024');
        const k = usable(body.KeyId);
        if (!k) return;
        const pt = randomBytes(n);
        return reply(200, { CiphertextBlob: seal(k, pt, body.EncryptionContext), Plaintext: pt.toString('base64'), KeyId: k[0] });
      }
      if (target === 'TrentService.Decrypt') {
        const r = open(body.CiphertextBlob, body.KeyId, body.EncryptionContext);
        if (r) ok({ Plaintext: r[0].toString('base64'), KeyId: r[1] });
        return;
      }
      if (target === 'TrentService.ReEncrypt') {
        const r = open(body.CiphertextBlob, body.SourceKeyId, body.SourceEncryptionContext);
        if (!r) return;
        const k = usable(body.DestinationKeyId);
        if (k) reply(200, { CiphertextBlob: seal(k, r[0], body.DestinationEncryptionContext), SourceKeyId: r[1], KeyId: k[0] });
        return;
      }
      return fail('UnknownOperationException', target);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    accessKeyId,
    region,
    arn: byName,
    disable: (n, d = true) => {
      keys.get(byName(n))!.enabled = !d;
    },
    faults,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
