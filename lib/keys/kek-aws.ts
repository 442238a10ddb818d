/**
 * AWS KMS as a KEK (`kek.awsKms`, lib/keys/kek.ts) through the caller's own
 * `KMSClient` from @aws-sdk/client-kms (an optional peer dependency: tessera
 * holds no AWS credentials and pins no SDK version). Operations per the KMS
 * API reference (https://docs.aws.amazon.com/kms/latest/APIReference/):
 * Encrypt and Decrypt of the data key with an EncryptionContext, which KMS
 * authenticates (a wrapped key opens only under the same context) and
 * records in CloudTrail; GenerateDataKey (`generateDataKey`: KMS draws the
 * key) and ReEncrypt (`rewrap`: to the key's current backing key, without
 * the data key leaving KMS).
 *
 * - id: `aws-kms://<keyId>` (Tink's key URI form).
 * - Failures: InvalidCiphertextException / IncorrectKeyException are
 *   ERR_AUTH; access denied, a disabled, pending-deletion or unknown key and
 *   other client errors are ERR_KEK (never retried); throttling, KMS
 *   internal errors and network failures are retried by `kek.resilient`
 *   (options.resilience) and end as ERR_KEK_UNAVAILABLE. Give the client
 *   `maxAttempts: 1` to leave retries to tessera, or keep the SDK's.
 */

import { TesseraError } from '../errors';
import { requirePeer } from '../peer';
import { describe } from '../format';
import type { KekProvider } from './kek-provider';
import { type ResilienceOptions, resilient, transientFailure } from './kek-resilient';

/** Options of kek.awsKms (docs/API.md "Key-encryption keys in a cloud KMS or Vault"). */
export interface AwsKmsOptions {
  /** A KMSClient of @aws-sdk/client-kms. */
  client: { send(command: unknown): Promise<unknown> };
  /** Key id, ARN, alias name or alias ARN. */
  keyId: string;
  /** What every wrapped key is bound to (default { purpose: 'tessera-kek-v1' }). */
  context?: Record<string, string>;
  /** Timeouts, retries and the circuit breaker (kek.resilient). */
  resilience?: ResilienceOptions;
}

type Command = new (input: object) => unknown;
type KmsModule = { EncryptCommand: Command; DecryptCommand: Command; GenerateDataKeyCommand: Command; ReEncryptCommand: Command };

/** The SDK's command classes, loaded on first use (as lib/keys/pg-store.ts loads pg). */
function sdk(): KmsModule {
  const commands = ['EncryptCommand', 'DecryptCommand', 'GenerateDataKeyCommand', 'ReEncryptCommand'] as const;
  return requirePeer<KmsModule>('@aws-sdk/client-kms', 'kek.awsKms', (m) => commands.filter((c) => typeof m[c] !== 'function').map((c) => `no ${c}`)[0]);
}

const AUTH = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

export function awsKms(opts: AwsKmsOptions): KekProvider {
  if (opts === null || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', `kek.awsKms needs options (got ${describe(opts)})`);
  if (!opts.client || typeof opts.client.send !== 'function')
    throw new TesseraError('ERR_ARGUMENT', 'kek.awsKms: client must be a KMSClient (an object with send())');
  const keyId = opts.keyId;
  if (typeof keyId !== 'string' || keyId.length === 0 || keyId.length > 2048)
    throw new TesseraError('ERR_ARGUMENT', `kek.awsKms: keyId must be a key id, ARN or alias (got ${describe(keyId)})`);
  const context = { ...(opts.context ?? { purpose: 'tessera-kek-v1' }) };
  for (const [k, v] of Object.entries(context))
    if (typeof v !== 'string' || k.length === 0) throw new TesseraError('ERR_ARGUMENT', 'kek.awsKms: context must map non-empty names to strings');
  const { EncryptCommand, DecryptCommand, GenerateDataKeyCommand, ReEncryptCommand } = sdk();
  const client = opts.client;
  const id = `aws-kms://${keyId}`;

  async function send(what: string, command: unknown): Promise<Record<string, unknown>> {
    try {
      return (await client.send(command)) as Record<string, unknown>;
    } catch (e) {
      if (transientFailure(e) === 'retry') throw e; // kek.resilient decides
      const name = typeof (e as { name?: unknown })?.name === 'string' ? (e as { name: string }).name.slice(0, 80) : 'error';
      if (AUTH.has(name))
        throw new TesseraError('ERR_AUTH', `${what}: AWS KMS ${id} refused the wrapped key (${name}: altered, another key, or another context)`);
      throw new TesseraError('ERR_KEK', `${what}: AWS KMS ${id}: ${name}`);
    }
  }

  const blobOf = (what: string, r: Record<string, unknown>): Uint8Array => {
    if (!(r.CiphertextBlob instanceof Uint8Array) || r.CiphertextBlob.length === 0)
      throw new TesseraError('ERR_KEK', `${what}: AWS KMS ${id} answered without a CiphertextBlob`);
    return Uint8Array.from(r.CiphertextBlob);
  };
  const checkWrapped = (what: string, wrapped: Uint8Array) => {
    if (!(wrapped instanceof Uint8Array) || wrapped.length === 0 || wrapped.length > 6144)
      throw new TesseraError('ERR_FORMAT', `${what}: not an AWS KMS ciphertext blob (1 to 6144 bytes)`);
  };

  const raw: KekProvider = {
    id,
    async wrap(dataKey: Uint8Array) {
      if (!(dataKey instanceof Uint8Array) || dataKey.length === 0 || dataKey.length > 4096)
        throw new TesseraError('ERR_ARGUMENT', 'wrap: the data key must be 1 to 4096 bytes');
      return blobOf('wrap', await send('wrap', new EncryptCommand({ KeyId: keyId, Plaintext: dataKey, EncryptionContext: context })));
    },
    async unwrap(wrapped: Uint8Array) {
      checkWrapped('unwrap', wrapped);
      // KeyId pins the key: a blob made under another key is refused, not decrypted with it.
      const r = await send('unwrap', new DecryptCommand({ KeyId: keyId, CiphertextBlob: wrapped, EncryptionContext: context }));
      if (!(r.Plaintext instanceof Uint8Array)) throw new TesseraError('ERR_KEK', `unwrap: AWS KMS ${id} answered without a Plaintext`);
      const out = Uint8Array.from(r.Plaintext);
      r.Plaintext.fill(0);
      return out;
    },
    /** KMS GenerateDataKey: a data key drawn by KMS, returned with its wrapped form (one call). */
    async generateDataKey(length: number) {
      if (!Number.isInteger(length) || length < 1 || length > 1024)
        throw new TesseraError('ERR_ARGUMENT', `generateDataKey: length must be 1 to 1024 bytes (got ${describe(length)})`);
      const r = await send('generateDataKey', new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: length, EncryptionContext: context }));
      const wrapped = blobOf('generateDataKey', r);
      if (!(r.Plaintext instanceof Uint8Array) || r.Plaintext.length !== length)
        throw new TesseraError('ERR_KEK', `generateDataKey: AWS KMS ${id} answered without a ${length}-byte Plaintext`);
      const dataKey = Uint8Array.from(r.Plaintext);
      r.Plaintext.fill(0);
      return { dataKey, wrapped };
    },
    /** KMS ReEncrypt to the key's current backing key: the data key never leaves KMS. */
    async rewrap(wrapped: Uint8Array) {
      checkWrapped('rewrap', wrapped);
      const cmd = new ReEncryptCommand({
        CiphertextBlob: wrapped,
        SourceKeyId: keyId,
        SourceEncryptionContext: context,
        DestinationKeyId: keyId,
        DestinationEncryptionContext: context,
      });
      return blobOf('rewrap', await send('rewrap', cmd));
    },
  };
  return resilient(raw, opts.resilience);
}
