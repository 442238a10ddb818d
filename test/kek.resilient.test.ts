/**
 * kek.resilient (lib/keys/kek-resilient.ts): timeouts, retries of transient
 * failures only (capped exponential backoff with full jitter), a circuit
 * breaker, ERR_KEK_UNAVAILABLE without key bytes; the default failure
 * classification for the error shapes the cloud SDKs throw.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';

import { root, T } from './tessera';

type Provider = import('../dist/cjs/keys/kek').KekProvider;
const R = require(path.join(root, 'dist/cjs/keys/kek-resilient.js')) as typeof import('../dist/cjs/keys/kek-resilient');

const MK = randomBytes(32);

/** A local KEK behind a scripted "network": each call takes the next outcome ('ok', an error, or 'hang'). */
function remote(script: (string | object)[]) {
  const real = T.kek.fromKey(MK);
  const log: string[] = [];
  const next = <R>(op: () => Promise<R>): Promise<R> => {
    const o = script.length > 0 ? script.shift()! : 'ok';
    log.push(typeof o === 'string' ? o : JSON.stringify(o));
    if (o === 'ok') return op();
    if (o === 'hang') return new Promise<R>(() => undefined);
    return Promise.reject(o);
  };
  const p: Provider = { id: real.id, wrap: (k) => next(() => real.wrap(k)), unwrap: (w) => next(() => real.unwrap(w)) };
  return { p, log };
}

function clock() {
  const c = { t: 1_000_000, sleeps: [] as number[] };
  return {
    c,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms;
    },
  };
}

async function code(p: Promise<unknown>): Promise<[string, string]> {
  try {
    await p;
  } catch (e) {
    return [(e as { code?: string }).code ?? String(e), (e as Error).message ?? ''];
  }
  return ['no error', ''];
}

const THROTTLE = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
const RESET = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const DENIED = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });

describe('kek.resilient', () => {
  test('transient failures are retried with capped exponential backoff and full jitter, then succeed', async () => {
    const { p, log } = remote([{ code: 'ECONNRESET' }, { statusCode: 503 }, { status: 429 }]);
    const k = clock();
    const r = T.kek.resilient(p, { retries: 3, baseDelayMs: 100, maxDelayMs: 250, now: k.now, sleep: k.sleep, random: () => 0.5 });
    expect(r.id).toBe(p.id);
    const dk = randomBytes(32);
    const w = await r.wrap(dk);
    expect(Buffer.from(T.keywrap.unwrapPad(MK, w)).equals(dk)).toBe(true);
    expect(log).toHaveLength(4);
    expect(k.c.sleeps).toEqual([50, 100, 125]); // 0.5 x min(250, 100 * 2^i)
  });

  test('authentication, permission and tessera verdicts are never retried and pass through unchanged', async () => {
    for (const e of [DENIED, { statusCode: 401 }, new T.TesseraError('ERR_AUTH', 'bad'), new T.TesseraError('ERR_KEK', 'no')]) {
      const { p, log } = remote([e]);
      const r = T.kek.resilient(p, { sleep: async () => undefined });
      expect(await code(r.unwrap(randomBytes(40)))).toEqual(await code(Promise.reject(e)));
      expect(log).toHaveLength(1);
    }
  });

  test('retries spent: ERR_KEK_UNAVAILABLE naming the KEK and the last failure, never key bytes', async () => {
    const { p, log } = remote([THROTTLE, THROTTLE, THROTTLE]);
    const dk = randomBytes(32);
    const r = T.kek.resilient(p, { retries: 2, sleep: async () => undefined });
    const [c, m] = await code(r.wrap(dk));
    expect(c).toBe('ERR_KEK_UNAVAILABLE');
    expect(m).toContain(p.id);
    expect(m).toContain('HTTP 400');
    expect(m).toContain('3 attempts');
    expect(m).not.toContain(dk.toString('hex').slice(0, 12));
    expect(log).toHaveLength(3);
  });

  test('a hung attempt times out and is retried; the late answer is ignored', async () => {
    const { p, log } = remote(['hang', 'ok']);
    const r = T.kek.resilient(p, { timeoutMs: 30, sleep: async () => undefined });
    const dk = randomBytes(32);
    expect(Buffer.from(T.keywrap.unwrapPad(MK, await r.wrap(dk))).equals(dk)).toBe(true);
    expect(log).toEqual(['hang', 'ok']);
    const q = remote(['hang', 'hang']);
    expect((await code(T.kek.resilient(q.p, { timeoutMs: 20, retries: 1, sleep: async () => undefined }).wrap(dk)))[1]).toMatch(/timed out after 20 ms/);
  });

  test('the breaker opens after consecutive unavailable calls, fails fast while open, lets one trial through after the cooldown', async () => {
    const k = clock();
    const { p, log } = remote([RESET, RESET, RESET, RESET]);
    const r = T.kek.resilient(p, { retries: 1, breakerFailures: 2, breakerCooldownMs: 10_000, now: k.now, sleep: k.sleep, random: () => 0 });
    const dk = randomBytes(32);
    expect((await code(r.wrap(dk)))[0]).toBe('ERR_KEK_UNAVAILABLE'); // 2 attempts
    expect((await code(r.wrap(dk)))[0]).toBe('ERR_KEK_UNAVAILABLE'); // 2 attempts: breaker opens
    expect(log).toHaveLength(4);
    const [c, m] = await code(r.wrap(dk));
    expect(c).toBe('ERR_KEK_UNAVAILABLE');
    expect(m).toMatch(/circuit open/);
    expect(log).toHaveLength(4); // no call went out
    k.c.t += 10_000;
    await r.wrap(dk); // the trial succeeds (the script is spent: 'ok') and closes the breaker
    expect(log).toHaveLength(5);
    await r.wrap(dk);
    expect(log).toHaveLength(6);
  });

  test('a failed trial re-opens the breaker for another cooldown', async () => {
    const k = clock();
    const { p, log } = remote([RESET, RESET, RESET]);
    const r = T.kek.resilient(p, { retries: 0, breakerFailures: 2, breakerCooldownMs: 1000, now: k.now, sleep: k.sleep });
    await code(r.unwrap(randomBytes(40)));
    await code(r.unwrap(randomBytes(40)));
    k.c.t += 1000;
    expect((await code(r.unwrap(randomBytes(40))))[1]).toMatch(/trial call/); // the third RESET
    expect(log).toHaveLength(3);
    expect((await code(r.unwrap(randomBytes(40))))[1]).toMatch(/circuit open/);
    expect(log).toHaveLength(3);
  });

  test('default classification of SDK error shapes', () => {
    const retry = [
      RESET,
      THROTTLE,
      { statusCode: 500 },
      { status: 502 },
      { $metadata: { httpStatusCode: 429 } },
      { code: 14 },
      { code: 8 },
      { name: 'KMSInternalException' },
      { code: 'ETIMEDOUT' },
    ];
    const final = [
      DENIED,
      { statusCode: 404 },
      { $metadata: { httpStatusCode: 400 } },
      { code: 7 },
      { name: 'InvalidCiphertextException' },
      new T.TesseraError('ERR_AUTH', 'x'),
      'text',
      null,
    ];
    for (const e of retry) expect(R.transientFailure(e), JSON.stringify(e)).toBe('retry');
    for (const e of final) expect(R.transientFailure(e), JSON.stringify(e)).toBe('final');
  });

  test('options are checked', () => {
    const p = T.kek.fromKey(MK);
    for (const o of [{ timeoutMs: 0 }, { retries: -1 }, { retries: 1.5 as number }, { breakerFailures: 0 }, { maxDelayMs: Number.NaN }])
      expect(() => T.kek.resilient(p, o)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
    expect(() => T.kek.resilient({} as Provider)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
  });
});
