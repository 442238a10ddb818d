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
  'ERR_TRUNCATED', // chunked: the ciphertext ends where no message can (truncated or extended)
  'ERR_COMMITMENT', // chunked: key commitment mismatch (wrong key or context, tampered header)
  'ERR_IO', // a file operation failed (the message names the path and the system error)
  'ERR_ABORTED', // the caller's AbortSignal fired
  'ERR_EXPIRED', // an authentic token outside its time-to-live (Fernet ttlSeconds)
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export class TesseraError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TesseraError';
    this.code = code;
  }
}
