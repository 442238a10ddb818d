/**
 * The keyring's KEK as the metrics layer sees it (docs/API.md "Metrics"): every
 * call to wrap, unwrap, generateDataKey or rewrap publishes a KekEvent on
 * the `tessera:kek` channel (lib/metrics/events.ts) with the KEK's kind (the
 * scheme of its id: aws-kms, azure-kv, gcp-kms, hcvault, pkcs11, aes-kwp,
 * scrypt-kwp, ...), the result and the duration; never the KEK id. Without
 * subscribers a call costs one property read. The provider's id,
 * formerIds, passphrase re-derivation (REBIND) and KDF parameters are kept.
 */
import { codeOf } from './keyring-doc';
import { type KekProvider, REBIND } from './kek';
import { kekChannel, kekKind } from '../metrics/events';

type Rebind = (params: never) => Promise<KekProvider>;

function timed<A, R>(provider: string, op: string, fn: (a: A) => Promise<R>): (a: A) => Promise<R> {
  return (a: A) => {
    if (!kekChannel.hasSubscribers) return fn(a);
    const t = performance.now();
    const done = (result: 'ok' | 'error', code?: string) => {
      if (kekChannel.hasSubscribers) kekChannel.publish({ provider, op, result, ...(code && { code }), seconds: (performance.now() - t) / 1000 });
    };
    return fn(a).then(
      (r) => {
        done('ok');
        return r;
      },
      (e: unknown) => {
        done('error', codeOf(e));
        throw e;
      },
    );
  };
}

/** kek with its calls published as metrics events. */
export function monitoredKek(kek: KekProvider): KekProvider {
  const provider = kekKind(kek.id);
  const rebind = (kek as { [REBIND]?: Rebind })[REBIND];
  const { generateDataKey: gen, rewrap } = kek;
  const out: KekProvider & { [REBIND]?: Rebind } = {
    id: kek.id,
    ...(kek.formerIds && { formerIds: kek.formerIds }),
    wrap: timed(provider, 'wrap', (d: Uint8Array) => kek.wrap(d)),
    unwrap: timed(provider, 'unwrap', (w: Uint8Array) => kek.unwrap(w)),
    ...(gen && { generateDataKey: timed(provider, 'generateDataKey', (n: number) => gen.call(kek, n)) }),
    ...(rewrap && { rewrap: timed(provider, 'rewrap', (w: Uint8Array) => rewrap.call(kek, w)) }),
  };
  if (rebind) out[REBIND] = async (p: never) => monitoredKek(await rebind.call(kek, p));
  // What a keyring reads of particular providers: a passphrase KEK's KDF parameters (keyring-doc.ts initialDoc).
  for (const k of ['params', 'salt'] as const)
    if (k in kek) Object.defineProperty(out, k, { get: () => (kek as unknown as Record<string, unknown>)[k], enumerable: true });
  return out;
}
