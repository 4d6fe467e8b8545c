/**
 * Issue #13, finding 4: a web page in a browser on the site box ended a live session and faulted a connector
 * through the gateway's HTTP actions. On the real gateway process: a cross-origin POST, one through a rebound
 * host name and one without the token are refused and change nothing (the session keeps charging); the
 * operator's token, from its own host, works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/http.js';
import { credentialFor, SITE_A, TestSystem } from '../support/system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await new TestSystem({ meterIntervalMs: 100 }).start();
}, 60_000);

afterAll(async () => {
  await system?.close();
});

const post = (path: string, headers: Record<string, string>) =>
  rawRequest(system.gatewayHttpPort, 'POST', path, headers);

describe('gateway HTTP actions (#13 finding 4)', () => {
  it('refuses cross-origin, rebound and token-less requests and leaves the session charging', async () => {
    const provisioning = await system.addVehicle('IT-HTTP-CAR', { scope: 'site', target: SITE_A });
    const client = await system.vehicle(provisioning);
    await credentialFor(client, 'IT-P1');
    const outcome = await client.authenticate('IT-P1', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    const { session } = outcome;
    const own = `127.0.0.1:${system.gatewayHttpPort}`;
    const token = `Bearer ${system.gatewayToken}`;
    const attacks: [string, Record<string, string>, number][] = [
      [
        'a page of another site, even with the token',
        { host: own, origin: 'http://evil.example', authorization: token },
        403,
      ],
      ['a page of another site, no token', { host: own, origin: 'http://evil.example' }, 403],
      [
        'DNS rebinding: the page’s own host name',
        { host: `evil.example:${system.gatewayHttpPort}`, authorization: token },
        403,
      ],
      ['no token', { host: own }, 401],
      ['a wrong token', { host: own, authorization: `Bearer ${'x'.repeat(32)}` }, 401],
    ];
    for (const verb of ['unplug', 'fault']) {
      for (const [name, headers, status] of attacks) {
        const answer = await post(`/piles/IT-P1/connectors/1/${verb}`, headers);
        expect(answer.status, `${verb}: ${name}`).toBe(status);
        expect(JSON.parse(answer.body).error).toEqual(expect.any(String));
      }
    }
    // Nothing changed: the session goes on with fresh verified readings and nothing ended it.
    const seen = session.meters.length;
    const more = await new Promise<number>((resolve) => {
      const off = session.on('meter', () => {
        if (session.meters.length >= seen + 3) {
          off();
          resolve(session.meters.length);
        }
      });
    });
    expect(more).toBeGreaterThanOrEqual(seen + 3);
    expect(session.receipt).toBeUndefined();
    expect(await system.gatewayMetrics()).not.toMatch(
      /evauth_gateway_sessions_ended_total\{[^}]*reason="(unplugged|fault)"/,
    );

    // The operator, with the token from the config and the gateway's own host, ends it.
    await system.gatewayAction('IT-P1', 1, 'unplug');
    expect((await session.ended).receipt.reason).toBe('unplugged');
    await client.close();
  }, 60_000);
});
