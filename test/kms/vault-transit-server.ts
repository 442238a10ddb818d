// A Vault Transit server for the tests, written from the API reference
// (https://developer.hashicorp.com/vault/api-docs/secret/transit): the
// operations kek.vaultTransit uses, on 127.0.0.1.
// - POST /v1/<mount>/encrypt/<name> {plaintext, associated_data?} ->
//   {data: {ciphertext: "vault:v<N>:" + base64(nonce | ct | tag), key_version}}
//   (aes256-gcm96: a 96-bit random nonce, AES-256-GCM, associated_data as AAD)
// - POST /v1/<mount>/decrypt/<name> {ciphertext, associated_data?} ->
//   {data: {plaintext}}; a failed open is 400 {errors: ["cipher: message authentication failed"]}
// - POST /v1/<mount>/keys/<name>/rotate: a new latest version; old
//   versions still decrypt.
// Token auth (X-Vault-Token; else 403 {errors: ["permission denied"]}),
// and injected faults for resilience tests: the next responses can be 429
// or 503 ("Vault is sealed"), or the server can hang.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as http from 'node:http';

export interface VaultFake {
  url: string;
  token: string;
  /** Requests seen, by path. */
  requests: string[];
  /** Statuses to answer with before serving normally (each used once). */
  faults: number[];
  rotate(name: string): void;
  /** Deny this token access to a key (403 permission denied), or allow it again. */
  deny(name: string, on: boolean): void;
  close(): Promise<void>;
}

export async function startVault(mount = 'transit', keys: string[] = ['tessera']): Promise<VaultFake> {
  const token = `hvs.${randomBytes(18).toString('base64url')}`;
  const ring = new Map(keys.map((k) => [k, [randomBytes(32)]]));
  const requests: string[] = [];
  const faults: number[] = [];
  const denied = new Set<string>();
  const send = (res: http.ServerResponse, status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      requests.push(path);
      const fault = faults.shift();
      if (fault !== undefined) return send(res, fault, { errors: [fault === 503 ? 'Vault is sealed' : 'rate limit quota exceeded'] });
      if (req.headers['x-vault-token'] !== token) return send(res, 403, { errors: ['permission denied'] });
      const m = new RegExp(`^/v1/${mount}/(encrypt|decrypt|keys)/([^/]+)(/rotate)?$`).exec(path);
      if (req.method !== 'POST' || !m) return send(res, 404, { errors: [] });
      if (denied.has(m[2]!)) return send(res, 403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] });
      const versions = ring.get(m[2]!);
      if (!versions) return send(res, 400, { errors: ['encryption key not found'] });
      if (m[1] === 'keys') {
        versions.push(randomBytes(32));
        return send(res, 204, {});
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, { errors: ['failed to parse JSON input'] });
      }
      const aad = typeof body.associated_data === 'string' ? Buffer.from(body.associated_data, 'base64') : Buffer.alloc(0);
      if (m[1] === 'encrypt') {
        if (typeof body.plaintext !== 'string') return send(res, 400, { errors: ['missing plaintext to encrypt'] });
        const v = versions.length;
        const nonce = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', versions[v - 1]!, nonce).setAAD(aad);
        const ct = Buffer.concat([nonce, c.update(Buffer.from(body.plaintext, 'base64')), c.final(), c.getAuthTag()]);
        return send(res, 200, { data: { ciphertext: `vault:v${v}:${ct.toString('base64')}`, key_version: v } });
      }
      const cm = typeof body.ciphertext === 'string' ? /^vault:v(\d+):(.+)$/.exec(body.ciphertext) : null;
      if (!cm) return send(res, 400, { errors: ['invalid ciphertext: no prefix'] });
      const key = versions[Number(cm[1]) - 1];
      if (!key) return send(res, 400, { errors: ['invalid key version'] });
      const raw = Buffer.from(cm[2]!, 'base64');
      if (raw.length < 28) return send(res, 400, { errors: ['invalid ciphertext: too short'] });
      try {
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12)).setAAD(aad);
        d.setAuthTag(raw.subarray(raw.length - 16));
        const pt = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
        return send(res, 200, { data: { plaintext: pt.toString('base64') } });
      } catch {
        return send(res, 400, { errors: ['cipher: message authentication failed'] });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    faults,
    rotate: (name) => ring.get(name)!.push(randomBytes(32)),
    deny: (name, on) => void (on ? denied.add(name) : denied.delete(name)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
