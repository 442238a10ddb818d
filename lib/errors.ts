/**
 * TesseraError: every failure tessera reports has a stable `code`.
 * Messages say what was wrong (expected vs got) and never contain key
 * material or plaintext.
 */
export const ErrorCodes = [
  'ERR_AUTH', // authentication failed: wrong key/nonce/aad or tampered data
  'ERR_KEY_LENGTH',
  'ERR_NONCE_LENGTH',
  'ERR_ALGORITHM', // unknown algorithm, or a message sealed with another one
  'ERR_FORMAT', // malformed message / text form / unknown version
  'ERR_ARGUMENT', // wrong type, detached or shared buffer, bad length
  'ERR_DISPOSED', // key used after dispose()
  'ERR_NONCE_LIMIT', // key sealed as many messages as its nonce bound allows
  'ERR_SECURE_MEMORY', // secure allocation failed (mlock limit in strict mode)
  'ERR_KEY_MISMATCH', // message names a different key id
  'ERR_BACKEND', // the requested backend cannot load
  'ERR_INTERNAL', // the crypto library reported an unexpected failure
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export class TesseraError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'TesseraError';
    this.code = code;
  }
}
