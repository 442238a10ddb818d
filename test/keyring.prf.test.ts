/**
 * The keyring's PRF primitive, ring.prf(purpose) (lib/keys/keyring-prf.ts;
 * blind indexes, lib/keys/blind.ts; the index itself is tested in
 * fields.test.ts).
 *
 * Proves: the primitive is cached per purpose; one obtained before the
 * purpose exists (autoCreate off) fails ERR_ARGUMENT and works once the
 * purpose is created, with no index key made by the failure; the index key
 * is made on first use (one 'create' audit event with detail 'blind index
 * key'), and an index computed before rotate() and a reopen equals one
 * computed after with the same primitive; a closed ring is ERR_DISPOSED.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { ringOpener } from './keyring.helpers';
import { rejects } from './tessera';

let dir: string;
let n = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-keyring-prf-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const open = ringOpener(() => path.join(dir, `ring-${n++}.json`));

describe('ring.prf(purpose)', () => {
  test('cached; made before the purpose exists, it works once created; stable across rotate and reopen', async () => {
    const { ring, file, mk } = await open({ autoCreate: false });
    const events: { op: string; detail?: string }[] = [];
    ring.on('audit', (e) => events.push(e));
    const prf = ring.prf('emails');
    expect(prf.purpose).toBe('emails');
    expect((await rejects(prf.blindIndex('a@x.io'))).code).toBe('ERR_ARGUMENT');
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).purposes).toEqual({});
    await ring.createPurpose('emails');
    expect(ring.prf('emails')).toBe(ring.prf('emails'));
    const i1 = await prf.blindIndex('a@x.io');
    expect(i1).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(events.filter((e) => e.op === 'create' && e.detail === 'blind index key')).toHaveLength(1);
    await ring.rotate('emails');
    expect(await prf.blindIndex('a@x.io')).toBe(i1);
    expect(await ring.prf('emails').blindIndex('a@x.io', { bytes: 32, output: 'bytes' })).toHaveLength(32);
    expect(events.filter((e) => e.detail === 'blind index key')).toHaveLength(1); // made once
    await ring.close();
    expect((await rejects(prf.blindIndex('a@x.io'))).code).toBe('ERR_DISPOSED');
    const { ring: again } = await open({}, file, mk);
    expect(await again.prf('emails').blindIndex('a@x.io')).toBe(i1);
    await again.close();
  });
});
