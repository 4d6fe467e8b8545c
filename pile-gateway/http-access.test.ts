/** Who may use the gateway's operator side: the token, no Origin, its own Host (DNS rebinding). */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { hasToken, isOwnHost, refuseOperatorRequest } from './http-access.js';

const TOKEN = 'k'.repeat(40);
const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('isOwnHost', () => {
  it('takes the listen address and, on loopback, localhost, at the listened port', () => {
    expect(isOwnHost('127.0.0.1:9464', '127.0.0.1', 9464)).toBe(true);
    expect(isOwnHost('localhost:9464', '127.0.0.1', 9464)).toBe(true);
    expect(isOwnHost('LOCALHOST:9464', '127.0.0.1', 9464)).toBe(true);
    expect(isOwnHost('[::1]:9464', '::1', 9464)).toBe(true);
    expect(isOwnHost('127.0.0.1:80', '127.0.0.1', 80)).toBe(true);
    expect(isOwnHost('127.0.0.1', '127.0.0.1', 80)).toBe(true);
  });

  it('refuses another name (a rebinding page), another port, another address, junk', () => {
    expect(isOwnHost('evil.example:9464', '127.0.0.1', 9464)).toBe(false);
    expect(isOwnHost('127.0.0.1:9465', '127.0.0.1', 9464)).toBe(false);
    expect(isOwnHost('127.0.0.1', '127.0.0.1', 9464)).toBe(false);
    expect(isOwnHost('10.0.0.5:9464', '127.0.0.1', 9464)).toBe(false);
    expect(isOwnHost('localhost:9464', '10.0.0.5', 9464)).toBe(false);
    expect(isOwnHost(undefined, '127.0.0.1', 9464)).toBe(false);
    expect(isOwnHost('127.0.0.1:9464/x@evil', '127.0.0.1', 9464)).toBe(false);
    expect(isOwnHost('', '127.0.0.1', 9464)).toBe(false);
  });

  it('listening on every interface: any IP literal or localhost, never a name', () => {
    expect(isOwnHost('10.0.0.5:9464', '0.0.0.0', 9464)).toBe(true);
    expect(isOwnHost('[fe80::1]:9464', '::', 9464)).toBe(true);
    expect(isOwnHost('localhost:9464', '0.0.0.0', 9464)).toBe(true);
    expect(isOwnHost('gateway.site.example:9464', '0.0.0.0', 9464)).toBe(false);
  });
});

describe('hasToken', () => {
  it('takes exactly the bearer token', () => {
    expect(hasToken(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(hasToken(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(hasToken(`Basic ${TOKEN}`, TOKEN)).toBe(false);
    expect(hasToken(TOKEN, TOKEN)).toBe(false);
    expect(hasToken(undefined, TOKEN)).toBe(false);
    expect(hasToken('Bearer ', TOKEN)).toBe(false);
  });
});

describe('refuseOperatorRequest', () => {
  const access = { token: TOKEN, listenHost: '127.0.0.1' };
  const own = { host: '127.0.0.1:9464', authorization: `Bearer ${TOKEN}` };

  it('lets the token through from the own host, without Origin', () => {
    expect(refuseOperatorRequest(request(own), access, 9464)).toBeUndefined();
  });

  it('refuses with 403 an Origin (even with the token) or a foreign Host, 401 without the token', () => {
    expect(
      refuseOperatorRequest(request({ ...own, origin: 'http://evil.example' }), access, 9464)?.status,
    ).toBe(403);
    expect(refuseOperatorRequest(request({ ...own, host: 'evil.example:9464' }), access, 9464)?.status).toBe(
      403,
    );
    expect(refuseOperatorRequest(request({ host: own.host }), access, 9464)).toMatchObject({
      status: 401,
      error: expect.stringMatching(/bearer token/),
    });
  });

  it('is off (403) when the config has no token', () => {
    expect(refuseOperatorRequest(request(own), { listenHost: '127.0.0.1' }, 9464)).toMatchObject({
      status: 403,
      error: expect.stringMatching(/no http\.token/),
    });
  });
});
