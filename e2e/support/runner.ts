/**
 * Child process started by the Playwright global setup: runs the whole system (system.ts) in a temp data
 * folder plus a small control API for the tests, prints one JSON line when ready, and stops everything on
 * SIGTERM/SIGINT.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSystem } from './system.js';

const dataDir = mkdtempSync(join(tmpdir(), 'evauth-e2e-'));
const system = await startSystem(dataDir);

const control = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://control');
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  void (async () => {
    if (req.method === 'GET' && url.pathname === '/spy') return reply(200, system.spied());
    if (req.method === 'POST' && url.pathname === '/broker/restart') {
      await system.restartBroker(Number(url.searchParams.get('downMs') ?? 1500));
      return reply(200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/forge-meter') {
      await system.forgeMeter(url.searchParams.get('vid') ?? '', url.searchParams.get('sid') ?? '');
      return reply(200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/cloud/stop') {
      await system.stopCloud();
      return reply(200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/cloud/start') {
      await system.startCloud();
      return reply(200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/grants/revoke') {
      const revoked = await system.revokeGrants(
        url.searchParams.get('vid') ?? '',
        url.searchParams.get('pid') ?? '',
      );
      return reply(200, { revoked });
    }
    reply(404, { error: 'unknown' });
  })().catch((error: unknown) => reply(500, { error: String(error) }));
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  control.close();
  await system.close().catch((error: unknown) => console.error('e2e system close:', error));
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

const { port } = control.address() as AddressInfo;
console.log(
  JSON.stringify({
    ready: true,
    headUnitUrl: system.headUnitUrl,
    operatorUrl: system.operatorUrl,
    operatorToken: system.operatorToken,
    controlUrl: `http://127.0.0.1:${port}`,
    dataDir,
    mqttUrl: system.mqttUrl,
  }),
);
