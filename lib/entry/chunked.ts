/**
 * `tessera/chunked` (package.json "exports"): Cobblestone chunked encryption: buffers, streams, files, random access (docs/API.md "Chunked encryption").
 * Node only; sets up the backends as the root entry does.
 *
 * @module tessera/chunked
 */
import '../backend/node';

export * from '../chunked/index';
