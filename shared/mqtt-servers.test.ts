import { describe, expect, it } from 'vitest';
import { mqttFailover } from './mqtt-servers.js';
import { parseVehicleProvisioning } from './provisioning.js';

describe('broker nodes of PROTOCOL §11 revision 2', () => {
  it('connects to the first node and fails over to the others, each with its own port and WebSocket path', () => {
    const single = mqttFailover('mqtt://a:1883');
    expect(single).toEqual({ url: 'mqtt://a:1883', options: { reconnectOnConnackError: true } });
    const ws = mqttFailover(['ws://a/mqtt', 'wss://b/other', 'ws://c:9001/mqtt']);
    expect(ws.url).toBe('ws://a/mqtt');
    expect(ws.options.servers).toEqual([
      { host: 'a', port: 80, protocol: 'ws' },
      { host: 'b', port: 443, protocol: 'wss' },
      { host: 'c', port: 9001, protocol: 'ws' },
    ]);
    // mqtt.js builds every node's URL with the first one's path; the node's own URL is used instead
    const transform = ws.options.transformWsUrl!;
    expect(transform('wss://b:443/mqtt', {}, undefined as never)).toBe('wss://b/other');
    expect(transform('ws://c:9001/mqtt', {}, undefined as never)).toBe('ws://c:9001/mqtt');
    expect(() => mqttFailover([])).toThrow(/no broker URL/);
  });

  it("takes a provisioning file's node lists only when they begin with its url and wsUrl", () => {
    const file = {
      v: 1,
      vid: 'V1',
      vehicleKey: 'A'.repeat(43),
      mqtt: {
        url: 'mqtt://a:1883',
        wsUrl: 'ws://a:8083/mqtt',
        urls: ['mqtt://a:1883', 'mqtt://b:1883'],
        wsUrls: ['ws://a:8083/mqtt', 'ws://b:8083/mqtt'],
        username: 'vehicle:V1',
        password: 'secret',
      },
    };
    expect(parseVehicleProvisioning(file).ok).toBe(true);
    expect(
      parseVehicleProvisioning({ ...file, mqtt: { ...file.mqtt, urls: undefined, wsUrls: undefined } }).ok,
    ).toBe(true);
    const reordered = parseVehicleProvisioning({ ...file, mqtt: { ...file.mqtt, urls: ['mqtt://b:1883'] } });
    expect(reordered.ok ? '' : reordered.message).toMatch(/field mqtt\.urls: must begin with mqtt\.url/);
    const emptyWs = parseVehicleProvisioning({ ...file, mqtt: { ...file.mqtt, wsUrls: [] } });
    expect(emptyWs.ok ? '' : emptyWs.message).toMatch(/field mqtt\.wsUrls/);
  });
});
