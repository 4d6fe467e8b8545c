/**
 * The operator page on the gateway's HTTP port: GET /operator/ serves the built page (pile-gateway/operator/,
 * built by Vite into operator/dist: `npm run build:operator`), GET /operator/api/view its JSON (operator-view.ts)
 * to the bearer token only (http-access.ts). The page's files hold no secret and are served to the gateway's own
 * Host without the token; the page asks for the token and sends it with each poll.
 */
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { readStaticFile } from '../node/static-files.js';
import { isOwnHost, type OperatorAccess, refuseOperatorRequest } from './http-access.js';

/**
 * Beside this module: pile-gateway/operator/dist from source; dist/services/operator/dist in the built service
 * (scripts/build-services.ts puts it there).
 */
export const OPERATOR_PAGE_DIR = fileURLToPath(new URL('./operator/dist', import.meta.url));

export const OPERATOR_PATH = '/operator/';
const API_VIEW = '/operator/api/view';

/** The page's headers: nothing may frame it, run foreign code in it, or learn its URL (it may hold ?token=). */
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

type Send = (status: number, body: unknown, challenge?: boolean) => void;

export interface OperatorRoutes {
  /** the view's JSON (made at most once a second) */
  view(): string;
  access: OperatorAccess;
  /** the port the server listens on (for the Host check) */
  port(): number;
  /** where the built page is (OPERATOR_PAGE_DIR unless told) */
  pageDir?: string;
}

/** Answers a GET under /operator; false when the path is not the operator page's. */
export async function serveOperator(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  pathname: string,
  routes: OperatorRoutes,
  send: Send,
): Promise<boolean> {
  if (pathname !== '/operator' && !pathname.startsWith(OPERATOR_PATH)) return false;
  if (pathname === API_VIEW) {
    const refused = refuseOperatorRequest(req, routes.access, routes.port());
    if (refused) send(refused.status, { error: refused.error }, refused.status === 401);
    else send(200, routes.view());
    return true;
  }
  if (!isOwnHost(req.headers.host, routes.access.listenHost, routes.port())) {
    send(403, { error: 'Host header does not name this gateway' });
    return true;
  }
  if (pathname === '/operator') {
    // The page's relative asset URLs need the trailing slash; the query (?token=) goes along.
    const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    res.writeHead(308, { location: `${OPERATOR_PATH}${query}`, 'cache-control': 'no-store' });
    res.end();
    return true;
  }
  const dir = routes.pageDir ?? OPERATOR_PAGE_DIR;
  const file = await readStaticFile(dir, pathname.slice(OPERATOR_PATH.length), { index: 'index.html' });
  if (!file) {
    const built = await readStaticFile(dir, 'index.html');
    if (built) send(404, { error: 'not found' });
    else send(503, { error: 'the operator page is not built: run `npm run build:operator`' });
    return true;
  }
  res.writeHead(200, { 'content-type': file.type, ...PAGE_HEADERS });
  res.end(file.body);
  return true;
}
