/**
 * Resilience for KEKs that live behind a network (`kek.resilient`,
 * lib/keys/kek.ts): a cloud KMS, a vault, a remote HSM. The wrapper adds
 * what such a service needs and a local key does not:
 *
 * - a per-call timeout (the attempt counts as failed; its late answer is
 *   ignored);
 * - retries of throttling and transient failures only, with capped
 *   exponential backoff and full jitter (delay = random * min(max, base *
 *   2^attempt)); an authentication or permission failure, a wrong key or
 *   altered data (ERR_AUTH, ERR_KEK, ERR_FORMAT, ERR_ARGUMENT, HTTP 4xx
 *   other than 408/429) is never retried;
 * - a circuit breaker: after `breakerFailures` calls in a row that ended
 *   unavailable, calls fail at once for `breakerCooldownMs`; then one trial
 *   call goes through, and its success closes the breaker again.
 * A call that ends unavailable (retries spent, timed out, breaker open) is
 * ERR_KEK_UNAVAILABLE naming the KEK id and the last failure's code or
 * status, never a key byte; other failures pass through unchanged. Keys
 * the keyring already unwrapped keep serving while the KEK is unavailable.
 */
import { TesseraError } from '../errors';
import { describe } from '../format';
import type { KekProvider } from './kek-provider';

/**
 * What `classify` says of a failure: 'retry' (worth another attempt) or 'final'.
 * @inline
 */
export type FailureKind = 'retry' | 'final';

/** Options of kek.resilient, and the `resilience` option of the remote KEKs. */
export interface ResilienceOptions {
  /** One attempt's limit (default 5000 ms). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** Backoff base and cap (defaults 100 ms and 2000 ms). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Consecutive unavailable calls that open the breaker (default 5) and how long it stays open (default 30 000 ms). */
  breakerFailures?: number;
  breakerCooldownMs?: number;
  /** Which failures are worth another attempt (default: network errors, timeouts, HTTP 408, 429 and 5xx, throttling and service faults). */
  classify?: (e: unknown) => FailureKind;
  /** For tests: clock, sleep and jitter source. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EPIPE',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'REQUEST_SEND_ERROR',
]);
const THROTTLE_NAMES = /Throttl|TooManyRequests|RequestLimitExceeded|ServiceUnavailable|InternalFailure|InternalError|KMSInternal|DependencyTimeout/;

/** The HTTP status a client error carries, whatever the SDK (AWS $metadata, Azure statusCode, fetch-style status). */
function statusOf(e: Record<string, unknown>): number | undefined {
  const meta = e.$metadata as { httpStatusCode?: unknown } | undefined;
  for (const v of [meta?.httpStatusCode, e.statusCode, e.status]) if (typeof v === 'number' && Number.isInteger(v) && v >= 100 && v < 600) return v;
  return undefined;
}

/**
 * The default rule: network errors, timeouts, HTTP 408, 429 and 5xx, and
 * errors named as throttling or service faults are retried; tessera's own
 * errors and every other status are final.
 */
export function transientFailure(e: unknown): FailureKind {
  if (e instanceof TesseraError) return 'final'; // tessera's own verdicts (an inner wrapper's too)
  if (e === null || typeof e !== 'object') return 'final';
  const o = e as Record<string, unknown>;
  // Named first: AWS KMS answers throttling with HTTP 400.
  if (typeof o.name === 'string' && THROTTLE_NAMES.test(o.name)) return 'retry';
  const status = statusOf(o);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500 ? 'retry' : 'final';
  if (typeof o.code === 'string' && NETWORK_CODES.has(o.code)) return 'retry';
  // gRPC (Google Cloud clients): DEADLINE_EXCEEDED 4, RESOURCE_EXHAUSTED 8, UNAVAILABLE 14.
  if (typeof o.code === 'number' && [4, 8, 14].includes(o.code)) return 'retry';
  return 'final';
}

/** A short, key-free name for a failure: its code, status or error name. */
function failureName(e: unknown): string {
  if (e instanceof TesseraError) return e.code;
  if (e === null || typeof e !== 'object') return typeof e;
  const o = e as Record<string, unknown>;
  const status = statusOf(o);
  const name = typeof o.name === 'string' && o.name !== 'Error' ? o.name.slice(0, 60) : undefined;
  if (status !== undefined) return name ? `${name}, HTTP ${status}` : `HTTP ${status}`;
  if (typeof o.code === 'string' || typeof o.code === 'number') return String(o.code);
  return typeof o.name === 'string' ? o.name.slice(0, 60) : 'error';
}

function num(v: unknown, name: string, dflt: number, min: number, max: number, whole = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (whole && !Number.isInteger(v)))
    throw new TesseraError('ERR_ARGUMENT', `kek.resilient: ${name} must be ${whole ? 'an integer' : 'a number'} from ${min} to ${max} (got ${describe(v)})`);
  return v;
}

class Timeout {
  readonly name = 'Timeout';
}

export function resilient(inner: KekProvider, opts: ResilienceOptions = {}): KekProvider {
  if (!inner || typeof inner.id !== 'string' || typeof inner.wrap !== 'function' || typeof inner.unwrap !== 'function')
    throw new TesseraError('ERR_ARGUMENT', 'kek.resilient needs a KekProvider');
  if (opts === null || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', `kek.resilient: options must be an object (got ${describe(opts)})`);
  const timeoutMs = num(opts.timeoutMs, 'timeoutMs', 5000, 1, 600_000);
  const retries = num(opts.retries, 'retries', 3, 0, 20, true);
  const base = num(opts.baseDelayMs, 'baseDelayMs', 100, 0, 60_000);
  const cap = num(opts.maxDelayMs, 'maxDelayMs', 2000, 0, 600_000);
  const trip = num(opts.breakerFailures, 'breakerFailures', 5, 1, 1000, true);
  const cooldown = num(opts.breakerCooldownMs, 'breakerCooldownMs', 30_000, 0, 3_600_000);
  const classify = opts.classify ?? transientFailure;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  let streak = 0; // calls in a row that ended unavailable
  let openUntil = -Infinity;
  let trial = false; // a half-open trial call is in flight

  const attempt = <R>(fn: () => Promise<R>): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      const t = setTimeout(() => reject(new Timeout()), timeoutMs);
      fn().then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });

  const unavailable = (what: string, why: string) => new TesseraError('ERR_KEK_UNAVAILABLE', `${what}: KEK ${inner.id} is unavailable (${why})`);

  async function call<R>(what: string, fn: () => Promise<R>): Promise<R> {
    const t = now();
    let isTrial = false;
    if (streak >= trip) {
      if (t < openUntil || trial) throw unavailable(what, `circuit open after ${streak} failed calls; retry after ${Math.max(0, Math.ceil(openUntil - t))} ms`);
      trial = isTrial = true; // half-open: this call decides
    }
    let last: string;
    try {
      for (let i = 0; ; i++) {
        try {
          const v = await attempt(fn);
          streak = 0;
          return v;
        } catch (e) {
          const timedOut = e instanceof Timeout;
          if (!timedOut && classify(e) === 'final') {
            streak = 0; // the service answered: it is reachable
            throw e;
          }
          last = timedOut ? `timed out after ${timeoutMs} ms` : failureName(e);
          if (i >= retries || isTrial) break;
          await sleep(random() * Math.min(cap, base * 2 ** i));
        }
      }
      streak++;
      if (streak >= trip) openUntil = now() + cooldown;
      throw unavailable(what, `${isTrial ? 'trial call' : `${retries + 1} attempts`}, last: ${last}`);
    } finally {
      if (isTrial) trial = false;
    }
  }

  const { generateDataKey: gen, rewrap } = inner;
  return Object.freeze({
    id: inner.id,
    ...(inner.formerIds && { formerIds: inner.formerIds }),
    wrap: (dataKey: Uint8Array) => call('wrap', () => inner.wrap(dataKey)),
    unwrap: (wrapped: Uint8Array) => call('unwrap', () => inner.unwrap(wrapped)),
    ...(gen && { generateDataKey: (length: number) => call('generateDataKey', () => gen.call(inner, length)) }),
    ...(rewrap && { rewrap: (wrapped: Uint8Array) => call('rewrap', () => rewrap.call(inner, wrapped)) }),
  });
}
