import { describe, expect, it } from 'vitest';
import { en } from './en.js';
import { adviceFor, PROTOCOL_CODES } from './error-advice.js';
import { translate } from './locale.js';
import { zh } from './zh.js';

describe('error advice', () => {
  it('maps every PROTOCOL §6 code to its own message in both languages and a next step', () => {
    for (const code of PROTOCOL_CODES) {
      const advice = adviceFor(code);
      expect(advice.message).toBe(`err.${code}`);
      expect(en[advice.message]).toBeTruthy();
      expect(zh[advice.message]).toBeTruthy();
      expect(['retry', 'anotherPile', 'renew', 'wait', 'dismiss']).toContain(advice.action);
    }
  });

  it('sends credential problems to renewal and a busy connector to another pile', () => {
    expect(adviceFor('TICKET_EXPIRED').action).toBe('renew');
    expect(adviceFor('REVOKED').action).toBe('renew');
    expect(adviceFor('CONNECTOR_BUSY').action).toBe('anotherPile');
    expect(adviceFor('TIMEOUT').action).toBe('retry');
  });

  it('flags a pile that failed its proof as counterfeit and nothing else', () => {
    expect(adviceFor('PILE_NOT_AUTHENTIC').counterfeit).toBe(true);
    expect(PROTOCOL_CODES.some((c) => adviceFor(c).counterfeit)).toBe(false);
  });

  it('falls back to a generic message for an unknown code', () => {
    expect(adviceFor('SOMETHING_NEW')).toMatchObject({ message: 'err.UNKNOWN', action: 'retry' });
  });

  it('fills placeholders and switches catalogue', () => {
    expect(translate('en', 'identity.vehicle', { vid: 'V1' })).toBe('Vehicle V1');
    expect(translate('zh', 'identity.vehicle', { vid: 'V1' })).toBe('车辆 V1');
    expect(translate('en', 'fail.code', {})).toBe('Code {code}');
  });
});
