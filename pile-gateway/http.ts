/**
 * The gateway's HTTP side: GET /healthz, GET /metrics (Prometheus), both open, and for tests and operators
 * POST /piles/:pid/connectors/:id/plug|unplug|fault|clear — from loopback addresses only, with the config's
 * bearer token, no Origin and the gateway's own Host (http-access.ts); the read-only operator page under /operator/
 * (operator-page.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ChargerController } from './charger.js';
import { type OperatorAccess, refuseOperatorRequest } from './http-access.js';
import { serveOperator } from './operator-page.js';

/** A charger the operator can drive by hand (the simulator is one). */
export interface OperableCharger extends ChargerController {
  plug(): void;
  unplug(): void;
  fault(message?: string): void;
  clear(): void;
}

function isOperable(c: ChargerController | undefined): c is OperableCharger {
  return !!c && typeof (c as Partial<OperableCharger>).unplug === 'function';
}

export interface HttpHandlers {
  health(): { ok: boolean; [key: string]: unknown };
  registry: Registry;
  charger(pid: string, connector: number): ChargerController | undefined;
  /** the operator page's JSON (operator-view.ts) */
  operatorView(): string;
  /** where the built operator page is (tests) */
  operatorPageDir?: string;
}

/** Bounds on what clients hold: connections at once, and how long a request may take to arrive. */
const MAX_CONNECTIONS = 64;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;

const ACTION = /^\/piles\/([A-Za-z0-9._-]{1,64})\/connectors\/(\d{1,3})\/(plug|unplug|fault|clear)$/;

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  type = 'application/json',
  challenge = false,
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(challenge ? { 'www-authenticate': 'Bearer realm="evauth-gateway"' } : {}),
  });
  res.end(text);
}

export async function startHttp(
  host: string,
  port: number,
  handlers: HttpHandlers,
  access: Omit<OperatorAccess, 'listenHost'> = {},
): Promise<{ port: number; close(): Promise<void> }> {
  const operator: OperatorAccess = { ...access, listenHost: host };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    void (async () => {
      if (req.method === 'GET' && url.pathname === '/healthz') {
        const health = handlers.health();
        return send(res, health.ok ? 200 : 503, health);
      }
      if (req.method === 'GET' && url.pathname === '/metrics') {
        return send(res, 200, await handlers.registry.metrics(), handlers.registry.contentType);
      }
      if (req.method === 'GET') {
        const routes = {
          view: handlers.operatorView,
          access: operator,
          port: listening,
          ...(handlers.operatorPageDir ? { pageDir: handlers.operatorPageDir } : {}),
        };
        const reply = (status: number, body: unknown, challenge = false) =>
          send(res, status, body, undefined, challenge);
        if (await serveOperator(req, res, url.pathname, routes, reply)) return;
      }
      const action = ACTION.exec(url.pathname);
      if (action && req.method === 'POST') {
        if (!isLoopback(req.socket.remoteAddress)) return send(res, 403, { error: 'loopback only' });
        const refused = refuseOperatorRequest(req, operator, listening());
        if (refused)
          return send(res, refused.status, { error: refused.error }, undefined, refused.status === 401);
        const [, pid = '', id = '', verb] = action;
        const charger = handlers.charger(pid, Number(id));
        if (!charger) return send(res, 404, { error: `no connector ${id} on pile ${pid}` });
        if (!isOperable(charger)) return send(res, 409, { error: 'this charger cannot be operated by hand' });
        if (verb === 'plug') charger.plug();
        else if (verb === 'unplug') charger.unplug();
        else if (verb === 'fault') charger.fault('operator fault');
        else charger.clear();
        return send(res, 200, { ok: true, pid, connector: Number(id), action: verb });
      }
      return send(res, 404, { error: 'not found' });
    })().catch((error: unknown) => send(res, 500, { error: (error as Error).message }));
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  const listening = () => (server.address() as AddressInfo).port;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
