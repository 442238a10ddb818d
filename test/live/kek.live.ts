// The KEK contract (test/kek.contract.ts) against the real services, for
// each provider whose environment variables are set (docs/API.md "Key manager",
// live tests). A provider with no variables is listed as not configured,
// and a run with none configured fails: it never passes by testing nothing.
// Fault injection (throttling, outages) needs the protocol servers and is
// left to `npm test`; an unusable key is a key id that does not exist.
//
//   AWS KMS:      TESSERA_LIVE_AWS_KEY, TESSERA_LIVE_AWS_OTHER_KEY (key ARNs; credentials
//                 and region from the SDK's default chain: AWS_REGION, AWS_PROFILE, ...)
//   Azure:        TESSERA_LIVE_AZURE_KEY, TESSERA_LIVE_AZURE_OTHER_KEY (key URLs with version),
//                 AZURE_ACCESS_TOKEN (az account get-access-token --resource https://vault.azure.net)
//   Google Cloud: TESSERA_LIVE_GCP_KEY, TESSERA_LIVE_GCP_OTHER_KEY (projects/.../cryptoKeys/...;
//                 Application Default Credentials)
//   Vault:        VAULT_ADDR, VAULT_TOKEN, TESSERA_LIVE_VAULT_KEY, TESSERA_LIVE_VAULT_OTHER_KEY
//                 (transit key names; TESSERA_LIVE_VAULT_MOUNT, default transit)
import { KMSClient } from '@aws-sdk/client-kms';
import { CryptographyClient } from '@azure/keyvault-keys';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { describe, expect, test } from 'vitest';

import { type KekFixture, kekContract } from '../kek.contract';
import { T } from '../tessera';

const env = (n: string) => process.env[n] || undefined;
const flipLast = (w: Uint8Array) => {
  const b = Uint8Array.from(w);
  b[b.length - 1]! ^= 1;
  return b;
};
const ctx = (context?: string) => (context ? { context: { purpose: context } } : {});
type Opts = Parameters<KekFixture['kek']>[0];

/** A fixture whose "disabled" state points the provider at a key that does not exist. */
function live(
  make: (key: string, o: Opts) => ReturnType<KekFixture['kek']>,
  key: string,
  other: string,
  missing: string,
  rest: Pick<KekFixture, 'tamper' | 'uriOptions' | 'secrets'>,
): () => KekFixture {
  let disabled = false;
  const f: KekFixture = {
    kek: (o) => make(disabled ? missing : key, o),
    otherKey: () => make(other, {}),
    disable: (on) => void (disabled = on),
    ...rest,
  };
  return () => f;
}

const configured: string[] = [];
const missing: string[] = [];

const aws = [env('TESSERA_LIVE_AWS_KEY'), env('TESSERA_LIVE_AWS_OTHER_KEY')];
if (aws[0] && aws[1]) {
  configured.push('AWS KMS');
  const client = () => new KMSClient({});
  kekContract(
    'AWS KMS (live)',
    live(
      (keyId, o) => T.kek.awsKms({ client: client(), keyId, ...ctx(o?.context), resilience: o?.resilience }),
      aws[0],
      aws[1],
      `${aws[0].replace(/key\/.*$/, 'key/')}00000000-0000-0000-0000-000000000000`,
      {
        tamper: flipLast,
        uriOptions: () => ({ client: client() }),
        secrets: () => [env('AWS_SECRET_ACCESS_KEY'), env('AWS_SESSION_TOKEN')].filter((s): s is string => !!s),
      },
    ),
  );
} else missing.push('AWS KMS (TESSERA_LIVE_AWS_KEY, TESSERA_LIVE_AWS_OTHER_KEY)');

const az = [env('TESSERA_LIVE_AZURE_KEY'), env('TESSERA_LIVE_AZURE_OTHER_KEY'), env('AZURE_ACCESS_TOKEN')];
if (az[0] && az[1] && az[2]) {
  configured.push('Azure Key Vault');
  const token = az[2];
  const credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 600_000 }) };
  const client = (id: string) => new CryptographyClient(id, credential);
  kekContract(
    'Azure Key Vault (live)',
    live(
      (id, o) => T.kek.azureKeyVault({ client: client(id), ...ctx(o?.context), resilience: o?.resilience }),
      az[0],
      az[1],
      az[0].replace(/\/keys\/[^/]+/, '/keys/tessera-live-missing'),
      {
        tamper: flipLast,
        uriOptions: () => ({ client: client(az[0]!) }),
        secrets: () => [token],
      },
    ),
  );
} else missing.push('Azure Key Vault (TESSERA_LIVE_AZURE_KEY, TESSERA_LIVE_AZURE_OTHER_KEY, AZURE_ACCESS_TOKEN)');

const gcp = [env('TESSERA_LIVE_GCP_KEY'), env('TESSERA_LIVE_GCP_OTHER_KEY')];
if (gcp[0] && gcp[1]) {
  configured.push('Google Cloud KMS');
  const client = () => new KeyManagementServiceClient();
  kekContract(
    'Google Cloud KMS (live)',
    live(
      (keyName, o) => T.kek.gcpKms({ client: client(), keyName, ...ctx(o?.context), resilience: o?.resilience }),
      gcp[0],
      gcp[1],
      gcp[0].replace(/cryptoKeys\/.*$/, 'cryptoKeys/tessera-live-missing'),
      {
        tamper: flipLast,
        uriOptions: () => ({ client: client() }),
        secrets: () => [],
      },
    ),
  );
} else missing.push('Google Cloud KMS (TESSERA_LIVE_GCP_KEY, TESSERA_LIVE_GCP_OTHER_KEY)');

const vault = [env('VAULT_ADDR'), env('VAULT_TOKEN'), env('TESSERA_LIVE_VAULT_KEY'), env('TESSERA_LIVE_VAULT_OTHER_KEY')];
if (vault.every(Boolean)) {
  configured.push('Vault Transit');
  const [endpoint, token, key, other] = vault as [string, string, string, string];
  const mount = env('TESSERA_LIVE_VAULT_MOUNT') ?? 'transit';
  kekContract(
    'Vault Transit (live)',
    live(
      (k, o) => T.kek.vaultTransit({ endpoint, token, key: k, mount, ...(o?.context && { associatedData: o.context }), resilience: o?.resilience }),
      key,
      other,
      'tessera-live-missing',
      {
        tamper: (w) => {
          const [p, v, b64] = Buffer.from(w).toString().split(':') as [string, string, string];
          const raw = Buffer.from(b64, 'base64');
          raw[raw.length - 1]! ^= 1;
          return Buffer.from(`${p}:${v}:${raw.toString('base64')}`);
        },
        uriOptions: () => ({ token, endpoint }),
        secrets: () => [token],
      },
    ),
  );
} else missing.push('Vault Transit (VAULT_ADDR, VAULT_TOKEN, TESSERA_LIVE_VAULT_KEY, TESSERA_LIVE_VAULT_OTHER_KEY)');

describe('live KEK services', () => {
  test(`configured: ${configured.join(', ') || 'none'}; not configured: ${missing.length}`, () => {
    if (missing.length) console.log(`not configured (set these to test them):\n  ${missing.join('\n  ')}`);
    expect(configured, 'no live service is configured: set the variables listed in test/live/kek.live.ts').not.toEqual([]);
  });
});
