// An example service with tessera's metrics (docs/API.md "Metrics"): it encrypts
// and decrypts through a keyring in a loop, including some failed opens (a
// flipped byte: ERR_AUTH, the tampering signal), rotates its key now and
// then, and serves the metrics at http://127.0.0.1:$PORT/metrics (default
// 9464) in the Prometheus text format. SIGTERM or SIGINT stops it cleanly
// (loop stopped, server closed, keyring closed, exit 0).
//
//   METRICS=prometheus (default): prom-client's registry, served here.
//   METRICS=otel: the OpenTelemetry SDK's MeterProvider with its Prometheus
//     exporter serving the same port (@opentelemetry/sdk-metrics,
//     @opentelemetry/exporter-prometheus).
// KEYRING_DIR: where the keyring file lives (default: a temp dir, removed at exit).
// LOOP_MS: pause between iterations (default 20).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { FileKeyStore, Keyring, kek } from 'tessera';
import { bindOpenTelemetry, bindPrometheus } from 'tessera/metrics';

const port = Number(process.env.PORT ?? 9464);
const mode = process.env.METRICS ?? 'prometheus';
const loopMs = Number(process.env.LOOP_MS ?? 20);
const tmp = process.env.KEYRING_DIR ? undefined : mkdtempSync(path.join(os.tmpdir(), 'tessera-metrics-example-'));
const dir = process.env.KEYRING_DIR ?? tmp;

let server;
let shutdown;
if (mode === 'otel') {
  const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
  const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
  const exporter = new PrometheusExporter({ host: '127.0.0.1', port, preventServerStart: false });
  const provider = new MeterProvider({ readers: [exporter] });
  const binding = bindOpenTelemetry({ meterProvider: provider });
  shutdown = async () => {
    binding.unbind();
    await provider.shutdown();
  };
} else {
  const prom = await import('prom-client');
  const registry = new prom.Registry();
  const binding = bindPrometheus({ registry });
  server = http.createServer(async (req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(await registry.metrics());
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  shutdown = async () => {
    binding.unbind();
    await new Promise((r) => server.close(r));
  };
}

const ring = await Keyring.open(new FileKeyStore(path.join(dir, 'keys.json')), { kek: kek.fromKey(randomBytes(32)) });
const orders = ring.aead('orders');
let running = true;
let iterations = 0;
const loop = (async () => {
  while (running) {
    const pt = randomBytes(64 + (iterations % 4) * 256);
    const msg = await orders.encrypt(pt);
    await orders.decrypt(msg);
    if (iterations % 10 === 9) {
      const bad = Uint8Array.from(msg);
      bad[bad.length - 1] ^= 1;
      await orders.decrypt(bad).catch(() => undefined); // ERR_AUTH: counted, never served
    }
    if (iterations % 100 === 99) await ring.rotate('orders');
    iterations++;
    await new Promise((r) => setTimeout(r, loopMs));
  }
})();
console.log(`tessera metrics example (${mode}): http://127.0.0.1:${port}/metrics`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  running = false;
  await loop;
  await shutdown();
  await ring.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  console.log(`stopped after ${iterations} iterations`);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
