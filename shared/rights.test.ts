/** PROTOCOL §9 as data: what each principal may subscribe to and publish on. */
import { describe, expect, it } from 'vitest';
import { mayPublish, maySubscribe, type Principal } from './rights.js';

describe('rights table (PROTOCOL §9)', () => {
  const v1: Principal = { kind: 'vehicle', vid: 'V1' };
  const g1: Principal = { kind: 'gateway', gid: 'G1', piles: new Set(['P1']) };
  const cloud: Principal = { kind: 'cloud' };
  it('covers subscription filters level by level', () => {
    expect(maySubscribe(v1, 'evauth/v1/vehicles/V1/#')).toBe(true);
    expect(maySubscribe(v1, 'evauth/v1/vehicles/V1/credentials/+')).toBe(true);
    expect(maySubscribe(v1, 'evauth/v1/vehicles/V1')).toBe(true);
    expect(maySubscribe(v1, 'evauth/v1/vehicles/+/auth')).toBe(false);
    expect(maySubscribe(v1, 'evauth/v1/vehicles/V2/#')).toBe(false);
    expect(maySubscribe(v1, '#')).toBe(false);
    expect(maySubscribe(v1, 'evauth/v1/piles/+/status')).toBe(true);
    expect(maySubscribe(v1, 'evauth/v1/piles/#')).toBe(false);
    expect(maySubscribe(v1, '$share/x/evauth/v1/vehicles/V1/#')).toBe(false);
    expect(maySubscribe(g1, 'evauth/v1/piles/P1/auth')).toBe(true);
    expect(maySubscribe(g1, 'evauth/v1/piles/P2/auth')).toBe(false);
    expect(maySubscribe(g1, 'evauth/v1/piles/+/control')).toBe(false);
    expect(maySubscribe(cloud, 'evauth/v1/cloud/credential-requests')).toBe(true);
    expect(maySubscribe(cloud, 'evauth/v1/vehicles/+/cloud')).toBe(false);
  });
  it('checks publish topics and the retain flag', () => {
    expect(mayPublish(v1, 'evauth/v1/piles/P9/auth', false)).toBe(true);
    expect(mayPublish(v1, 'evauth/v1/piles/P9/auth', true)).toBe(false);
    expect(mayPublish(v1, 'evauth/v1/cloud/credential-requests', false)).toBe(true);
    expect(mayPublish(v1, 'evauth/v1/piles/P9/control', false)).toBe(false);
    expect(mayPublish(v1, 'evauth/v1/piles/P9/auth/x', false)).toBe(false);
    expect(mayPublish(g1, 'evauth/v1/piles/P1/status', true)).toBe(true);
    expect(mayPublish(g1, 'evauth/v1/piles/P2/status', true)).toBe(false);
    expect(mayPublish(g1, 'evauth/v1/gateways/G1/status', true)).toBe(true);
    expect(mayPublish(g1, 'evauth/v1/gateways/G2/status', true)).toBe(false);
    expect(mayPublish(cloud, 'evauth/v1/vehicles/V1/credentials/P1', true)).toBe(true);
    expect(mayPublish(cloud, 'evauth/v1/directory/piles/P1', true)).toBe(true);
    expect(mayPublish(cloud, 'evauth/v1/piles/P1/status', true)).toBe(false);
  });
});
