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
  'ERR_BACKEND', // the requested backend cannot load, or an optional package a feature needs is missing (lib/peer.ts; the message names it)
  'ERR_INTERNAL', // the crypto library reported an unexpected failure
  'ERR_TRUNCATED', // chunked: the ciphertext ends where no message can (truncated or extended)
  'ERR_COMMITMENT', // chunked: key commitment mismatch (wrong key or context, tampered header)
  'ERR_IO', // a file operation failed (the message names the path and the system error)
  'ERR_ABORTED', // the caller's AbortSignal fired
  'ERR_EXPIRED', // an authentic token outside its time-to-live (Fernet ttlSeconds)
  'ERR_KEK', // this KEK cannot unwrap: wrong passphrase, or a public-only provider (lib/keys/kek.ts)
  'ERR_KEY_DESTROYED', // keyring: the message's key was destroyed (its id is kept, its material wiped)
  'ERR_KEY_RETIRED', // keyring: the message's key is retired (re-enable it with setState to use it)
  'ERR_CONFLICT', // key store: another writer committed a newer generation first (reload and retry)
  'ERR_LOCKED', // key store: another live process holds the write lock
  'ERR_PKCS11', // a PKCS#11 call failed (the message names the CKR_* code)
  'ERR_PKCS11_PIN', // PKCS#11 login refused the PIN (CKR_PIN_INCORRECT, CKR_PIN_LOCKED, ...)
  'ERR_PKCS11_DEVICE', // the token reported a general error (CKR_GENERAL_ERROR): a device fault, not proof of tampering
  'ERR_KEK_UNAVAILABLE', // a remote KEK (KMS, vault, HSM) did not answer: timeouts, retries spent, circuit open (kek.resilient)
  'ERR_UNSUPPORTED', // this runtime lacks what the call needs (e.g. Argon2id before Node 24.7); the message names it
  'ERR_DATABASE', // tessera/sqlcipher: the SQLite driver failed, or a database check did not pass (the message names the SQLite code or the check)
] as const;

/** A TesseraError `code` (ErrorCodes lists them; docs/API.md "AEAD" says when each is thrown). */
export type ErrorCode = (typeof ErrorCodes)[number];

/** Every failure tessera reports: a stable `code` and a message that names what was wrong, never key bytes or plaintext. */
export class TesseraError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TesseraError';
    this.code = code;
  }
}
