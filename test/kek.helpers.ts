// Helpers shared by the KEK provider suites (kek.aws, kek.vault, kek.multi).
import { expect } from 'vitest';

import { T } from './tessera';

/** How p settled: [code, message] of the TesseraError it rejected with, or ['no error', '']. */
export async function code(p: Promise<unknown>): Promise<[string, string]> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(T.TesseraError);
    return [(e as InstanceType<typeof T.TesseraError>).code, (e as Error).message];
  }
  return ['no error', ''];
}
