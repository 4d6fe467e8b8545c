import { describe, expect, it } from 'vitest';
import { mqttClientLog } from './mqtt-log.js';

describe('mqttClientLog', () => {
  it('silences mqtt.js unless its debug output was asked for', () => {
    const silent = mqttClientLog(undefined);
    expect(typeof silent).toBe('function');
    expect(silent?.('a', 1, {})).toBeUndefined();
    expect(mqttClientLog('pino,express')).toBe(silent);
    // undefined lets mqtt.js fall back to its own `debug` logger
    expect(mqttClientLog('mqttjs*')).toBeUndefined();
    expect(mqttClientLog('foo,mqttjs:client')).toBeUndefined();
  });
});
