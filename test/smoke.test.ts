import { expect, test } from 'vitest';
import { T } from './tessera';
test('round trip', () => {
  const k = T.AeadKey.generate('aes-256-gcm');
  expect(Buffer.from(k.open(k.seal(Buffer.from('hi')))).toString()).toBe('hi');
});
