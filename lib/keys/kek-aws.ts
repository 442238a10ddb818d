/**
 * AWS KMS as a KEK (`kek.awsKms`, lib/keys/kek.ts) through the caller's own
 * `KMSClient` from @aws-sdk/client-kms (an optional peer dependency: tessera
 * holds no AWS credentials and pins no SDK version). Operations per the KMS
 * API reference (https://docs.aws.amazon.com/kms/latest/APIReference/):
 * Encrypt and Decrypt of the data key with an EncryptionContext, which KMS
 * authenticates (a wrapped key opens only under the same context) and
 * records in CloudTrail.
 *
 * - id: `aws-kms://<keyId>` (Tink's key URI form).
 * - Failures: InvalidCiphertextException / IncorrectKeyException are
 *   ERR_AUTH; access denied, a disabled, pending-deletion or unknown key and
 *   other client errors are ERR_KEK (never retried); throttling, KMS
 *   internal errors and network failures are retried by `kek.resilient`
 *   (options.resilience) and end as ERR_KEK_UNAVAILABLE. Give the client
 *   `maxAttempts: 1` to leave retries to tessera, or keep the SDK's.
 */
import { createRequire } from 'node:module';

import { TesseraError } from '../errors';
import { describe } from '../format';
import type { KekProvider } from './kek';
import { type ResilienceOptions, resilient, transientFailure } from './kek-resilient';

export interface AwsKmsOptions {
  /** A KMSClient of @aws-sdk/client-kms. */
  client: { send(command: unknown): Promise<unknown> };
  /** Key id, ARN, alias name or alias ARN. */
  keyId: string;
  /** What every wrapped key is bound to (default { purpose: 'tessera-kek-v1' }). */
  context?: Record<string, string>;
  resilience?: ResilienceOptions;
}

type KmsModule = {
  EncryptCommand: new (input: object) => unknown;
  DecryptCommand: new (input: object) => unknown;
};

/** The SDK's command classes, loaded on first use (as lib/keys/pg-store.ts loads pg). */
function sdk(): KmsModule {
  let m: KmsModule;
  try {
    m = createRequire(__filename)('@aws-sdk/client-kms') as KmsModule;
  } catch (e) {
    throw new TesseraError('ERR_BACKEND', 'kek.awsKms needs the `@aws-sdk/client-kms` package, which is not installed: npm install @aws-sdk/client-kms', { cause: e });
  }
  if (typeof m.EncryptCommand !== 'function' || typeof m.DecryptCommand !== 'function')
    throw new TesseraError('ERR_BACKEND', 'kek.awsKms: the installed @aws-sdk/client-kms has no EncryptCommand / DecryptCommand');
  return m;
}

const AUTH = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

export function awsKms(opts: AwsKmsOptions): KekProvider {
  if (opts === null || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', `kek.awsKms needs options (got ${describe(opts)})`);
  if (!opts.client || typeof opts.client.send !== 'function') throw new TesseraError('ERR_ARGUMENT', 'kek.awsKms: client must be a KMSClient (an object with send())');
  const keyId = opts.keyId;
  if (typeof keyId !== 'string' || keyId.length === 0 || keyId.length > 2048) throw new TesseraError('ERR_ARGUMENT', `kek.awsKms: keyId must be a key id, ARN or alias (got ${describe(keyId)})`);
  const context = { ...(opts.context ?? { purpose: 'tessera-kek-v1' }) };
  for (const [k, v] of Object.entries(context))
    if (typeof v !== 'string' || k.length === 0) throw new TesseraError('ERR_ARGUMENT', 'kek.awsKms: context must map non-empty names to strings');
  const { EncryptCommand, DecryptCommand } = sdk();
  const client = opts.client;
  const id = `aws-kms://${keyId}`;

  async function send(what: string, command: unknown): Promise<Record<string, unknown>> {
    try {
      return (await client.send(command)) as Record<string, unknown>;
    } catch (e) {
      if (transientFailure(e) === 'retry') throw e; // kek.resilient decides
      const name = typeof (e as { name?: unknown })?.name === 'string' ? (e as { name: string }).name.slice(0, 80) : 'error';
      if (AUTH.has(name)) throw new TesseraError('ERR_AUTH', `${what}: AWS KMS ${id} refused the wrapped key (${name}: altered, another key, or another context)`);
      throw new TesseraError('ERR_KEK', `${what}: AWS KMS ${id}: ${name}`);
    }
  }

  const raw: KekProvider = {
    id,
    async wrap(dataKey: Uint8Array) {
      if (!(dataKey instanceof Uint8Array) || dataKey.length === 0 || dataKey.length > 4096) throw new TesseraError('ERR_ARGUMENT', 'wrap: the data key must be 1 to 4096 bytes');
      const r = await send('wrap', new EncryptCommand({ KeyId: keyId, Plaintext: dataKey, EncryptionContext: context }));
      if (!(r.CiphertextBlob instanceof Uint8Array) || r.CiphertextBlob.length === 0) throw new TesseraError('ERR_KEK', `wrap: AWS KMS ${id} answered without a CiphertextBlob`);
      return Uint8Array.from(r.CiphertextBlob);
    },
    async unwrap(wrapped: Uint8Array) {
      if (!(wrapped instanceof Uint8Array) || wrapped.length === 0 || wrapped.length > 6144) throw new TesseraError('ERR_FORMAT', 'unwrap: not an AWS KMS ciphertext blob (1 to 6144 bytes)');
      // KeyId pins the key: a blob made under another key is refused, not decrypted with it.
      const r = await send('unwrap', new DecryptCommand({ KeyId: keyId, CiphertextBlob: wrapped, EncryptionContext: context }));
      if (!(r.Plaintext instanceof Uint8Array)) throw new TesseraError('ERR_KEK', `unwrap: AWS KMS ${id} answered without a Plaintext`);
      const out = Uint8Array.from(r.Plaintext);
      r.Plaintext.fill(0);
      return out;
    },
  };
  return resilient(raw, opts.resilience);
}
