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
      if (target === 'TrentService.Encrypt') {
        const arn = resolveKey(body.KeyId);
        if (!arn) return fail('NotFoundException', 'Key not found');
        const k = keys.get(arn)!;
        if (!k.enabled) return fail('DisabledException', `${arn} is disabled.`);
        const nonce = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', k.key, nonce).setAAD(aadOf(body.EncryptionContext));
        const ct = Buffer.concat([c.update(Buffer.from(String(body.Plaintext), 'base64')), c.final(), c.getAuthTag()]);
        const blob = Buffer.concat([Buffer.from([1, arn.length]), Buffer.from(arn), nonce, ct]);
        return reply(200, { CiphertextBlob: blob.toString('base64'), KeyId: arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
      }
      if (target === 'TrentService.Decrypt') {
        const blob = Buffer.from(String(body.CiphertextBlob), 'base64');
        if (blob.length < 2 + 28 || blob[0] !== 1 || blob.length < 2 + blob[1]! + 28) return fail('InvalidCiphertextException', '');
        const arn = blob.subarray(2, 2 + blob[1]!).toString();
        const k = keys.get(arn);
        if (!k) return fail('InvalidCiphertextException', '');
        if (body.KeyId !== undefined && resolveKey(body.KeyId) !== arn) return fail('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
        if (!k.enabled) return fail('DisabledException', `${arn} is disabled.`);
        const rest = blob.subarray(2 + blob[1]!);
        try {
          const d = createDecipheriv('aes-256-gcm', k.key, rest.subarray(0, 12)).setAAD(aadOf(body.EncryptionContext));
          d.setAuthTag(rest.subarray(rest.length - 16));
          const pt = Buffer.concat([d.update(rest.subarray(12, rest.length - 16)), d.final()]);
          return reply(200, { Plaintext: pt.toString('base64'), KeyId: arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
        } catch {
          return fail('InvalidCiphertextException', '');
        }
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
