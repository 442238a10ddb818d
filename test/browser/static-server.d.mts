// Types for static-server.mjs (a plain ES module so that bench scripts can
// import it too).

export interface Mount {
  /** URL prefix, ends with '/'. */
  prefix: string;
  /** The directory it maps to (resolved with realpath when the server starts). */
  dir: string;
  /** Allowed paths below the prefix (anything else is 404). */
  only?: RegExp;
}

export interface StaticServerOptions {
  mounts: readonly Mount[];
  /** URL prefix (ends with '/') under which setFixture bytes are served; none when omitted. */
  fixtures?: string;
}

export interface StaticServer {
  /** http://127.0.0.1:<port> (no trailing slash). */
  readonly origin: string;
  /** Decoded paths of every request, in arrival order. */
  readonly requests: string[];
  /** Serves bytes at <fixtures prefix><name> (application/octet-stream). */
  setFixture(name: string, bytes: Uint8Array): void;
  close(): Promise<void>;
}

export function startStaticServer(options: StaticServerOptions): Promise<StaticServer>;
