/**
 * Who may use the gateway's operator HTTP side (actions, the operator page's API): a request that carries the
 * config's `http.token` as `Authorization: Bearer`, no Origin (no web page of another site drives it), and a
 * Host naming the gateway itself (a DNS-rebinding page sends its own host name). /healthz and /metrics stay open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export interface OperatorAccess {
  /** the config's http.token; without one the operator side is off */
  token?: string;
  /** the address the server listens on (config http.host) */
  listenHost: string;
}

export type AccessRefusal = { status: 401 | 403; error: string };

const WILDCARD = new Set(['0.0.0.0', '::', '']);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** what a Host header may hold: a name or IPv4 literal, or a bracketed IPv6 literal, and a port */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;

/**
 * Whether a Host header names this server: its listen address (or `localhost` when that is loopback), or, when it
 * listens on every interface, any IP literal (a rebinding page always comes with a DNS name), at its own port.
 */
export function isOwnHost(header: string | undefined, listenHost: string, port: number): boolean {
  const m = header === undefined ? null : HOST_HEADER.exec(header);
  if (!m) return false;
  const name = m[1]!.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (Number(m[2] ?? 80) !== port) return false;
  if (WILDCARD.has(listenHost)) return isIP(name) !== 0 || name === 'localhost';
  if (name === listenHost.toLowerCase()) return true;
  return LOOPBACK.has(listenHost) && LOOPBACK.has(name);
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether `Authorization: Bearer <token>` carries the token (compared in constant time). */
export function hasToken(authorization: string | undefined, token: string): boolean {
  const m = authorization === undefined ? null : /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization);
  return !!m && timingSafeEqual(digest(m[1]!), digest(token));
}

/** Refuses a request to the operator side, or undefined when it may go on. `port`: the one listened on. */
export function refuseOperatorRequest(
  req: IncomingMessage,
  access: OperatorAccess,
  port: number,
): AccessRefusal | undefined {
  if (req.headers.origin !== undefined)
    return { status: 403, error: 'cross-origin requests are refused (Origin header present)' };
  if (!isOwnHost(req.headers.host, access.listenHost, port))
    return { status: 403, error: 'Host header does not name this gateway' };
  if (!access.token)
    return { status: 403, error: 'operator access is off: the gateway config has no http.token' };
  if (!hasToken(req.headers.authorization, access.token))
    return { status: 401, error: 'missing or wrong bearer token (Authorization: Bearer <http.token>)' };
  return undefined;
}
