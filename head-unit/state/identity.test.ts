import { describe, expect, it } from 'vitest';
import { b64uEncode, utf8ToBytes } from '../../shared/index.js';
import { parseProvisioningCode } from './identity.js';

const provisioning = {
  v: 1,
  vid: 'car-7',
  vehicleKey: b64uEncode(new Uint8Array(32).fill(7)),
  mqtt: {
    url: 'mqtt://127.0.0.1:1883',
    wsUrl: 'ws://127.0.0.1:8083/mqtt',
    username: 'vehicle:car-7',
    password: 'secret',
  },
};

describe('parseProvisioningCode', () => {
  it('accepts the provisioning JSON', () => {
    const parsed = parseProvisioningCode(`  ${JSON.stringify(provisioning)}\n`);
    expect(parsed).toEqual({ ok: true, value: provisioning });
  });

  it('accepts its base64url encoding, with or without padding', () => {
    const code = b64uEncode(utf8ToBytes(JSON.stringify(provisioning)));
    expect(parseProvisioningCode(code)).toEqual({ ok: true, value: provisioning });
    expect(parseProvisioningCode(`${code}==`).ok).toBe(true);
  });

  it('rejects garbage, empty input and a file with a short vehicle key', () => {
    expect(parseProvisioningCode('')).toMatchObject({ ok: false });
    expect(parseProvisioningCode('{not json')).toMatchObject({ ok: false, message: 'not JSON' });
    expect(parseProvisioningCode('***')).toMatchObject({ ok: false });
    const short = { ...provisioning, vehicleKey: b64uEncode(new Uint8Array(8)) };
    expect(parseProvisioningCode(JSON.stringify(short)).ok).toBe(false);
  });
});
