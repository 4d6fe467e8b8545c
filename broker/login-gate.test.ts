/** What a password check may cost: back-off per failing pair, ordinary attempts ahead of suspect ones, bounds. */
import { describe, expect, it } from 'vitest';
import { LoginGate } from './login-gate.js';
import { LoginSessions, PublishBucket } from './session-policy.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const fail = async () => undefined;
const succeed = async () => 'principal';

describe('LoginGate', () => {
  it('backs a failing (address, username) pair off exponentially, refusing without a check', async () => {
    const c = clock();
    const gate = new LoginGate({ now: c.now, backoffMs: 100, maxBackoffMs: 1000 });
    let checks = 0;
    const check = async () => {
      checks++;
      return undefined;
    };
    expect(await gate.admit('10.0.0.1', 'vehicle:V', check)).toEqual({ result: undefined });
    expect(await gate.admit('10.0.0.1', 'vehicle:V', check)).toEqual({ refused: 'backoff' });
    c.advance(100);
    expect(await gate.admit('10.0.0.1', 'vehicle:V', check)).toEqual({ result: undefined });
    c.advance(100); // the second failure doubled the window to 200 ms
    expect(await gate.admit('10.0.0.1', 'vehicle:V', check)).toEqual({ refused: 'backoff' });
    c.advance(100);
    expect(await gate.admit('10.0.0.1', 'vehicle:V', check)).toEqual({ result: undefined });
    expect(checks).toBe(3);
    // another address is not held back by this pair's failures, nor is this address for another username
    expect(await gate.admit('10.0.0.2', 'vehicle:V', succeed)).toEqual({ result: 'principal' });
    expect(await gate.admit('10.0.0.1', 'vehicle:W', succeed)).toEqual({ result: 'principal' });
    // the back-off is capped
    for (let i = 0; i < 20; i++) {
      c.advance(1000);
      await gate.admit('10.0.0.1', 'vehicle:V', fail);
    }
    c.advance(1000);
    expect(await gate.admit('10.0.0.1', 'vehicle:V', succeed)).toEqual({ result: 'principal' });
  });

  it('runs ordinary attempts before suspect ones, and refuses suspects beyond their small queue', async () => {
    const gate = new LoginGate({ concurrency: 1, suspectQueue: 2 });
    await gate.admit('6.6.6.6', 'vehicle:X', fail); // this address is now suspect
    const order: string[] = [];
    let release!: () => void;
    const blocker = gate.admit(
      '1.1.1.1',
      'vehicle:A',
      () => new Promise<string>((r) => (release = () => r('a'))),
    );
    const attempt = (source: string, name: string) =>
      gate.admit(source, `vehicle:${name}`, async () => {
        order.push(name);
        return name;
      });
    const suspects = [attempt('6.6.6.6', 'S1'), attempt('6.6.6.6', 'S2'), attempt('6.6.6.6', 'S3')];
    const ordinary = attempt('2.2.2.2', 'G');
    expect(await suspects[2]).toEqual({ refused: 'busy' });
    release();
    await Promise.all([blocker, ordinary, ...suspects]);
    expect(order).toEqual(['G', 'S1', 'S2']);
  });

  it('remembers a bounded number of addresses, usernames and pairs under a flood of distinct ones', async () => {
    const gate = new LoginGate({ capacity: 1000 });
    for (let i = 0; i < 20_000; i++)
      await gate.admit(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, `u${i}`, fail);
    const sizes = gate.remembered;
    expect(sizes.sources).toBeLessThanOrEqual(1000);
    expect(sizes.usernames).toBeLessThanOrEqual(1000);
    expect(sizes.pairs).toBeLessThanOrEqual(1000);
  });
});

describe('session policy', () => {
  it('bounds the connections of one login, a takeover by its own id counting once', () => {
    const sessions = new LoginSessions<{ id: string }>({
      sessionsPerLogin: { vehicle: 2, gateway: 8, cloud: 16 },
      authPublishesPerSecond: 10,
      authPublishBurst: 20,
    });
    const v = { kind: 'vehicle' as const, vid: 'V' };
    const a = { id: 'vehicle-V-a' };
    const b = { id: 'vehicle-V-b' };
    sessions.opened('vehicle:V', a);
    sessions.opened('vehicle:V', b);
    expect(sessions.check(v, 'vehicle:V', 'vehicle-V-c', true)?.reason).toBe(
      'too many sessions for this login',
    );
    expect(sessions.check(v, 'vehicle:V', 'vehicle-V-a', true)).toBeUndefined();
    expect(sessions.check(v, 'vehicle:V', 'vehicle-W-a', true)?.code).toBe(2);
    expect(sessions.check(v, 'vehicle:V', 'vehicle-V-a', false)?.reason).toBe(
      'persistent sessions are not kept',
    );
    sessions.closed('vehicle:V', a);
    expect(sessions.check(v, 'vehicle:V', 'vehicle-V-c', true)).toBeUndefined();
  });

  it('lets a connection publish its burst, then its rate', () => {
    const c = clock();
    const bucket = new PublishBucket(10, 20, c.now);
    let sent = 0;
    while (bucket.take()) sent++;
    expect(sent).toBe(20);
    c.advance(500);
    sent = 0;
    while (bucket.take()) sent++;
    expect(sent).toBe(5);
  });
});
