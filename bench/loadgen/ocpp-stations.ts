/**
 * A process of OCPP 2.0.1 charging stations for the OCPP scenario (bench/scenarios/ocpp.ts): it connects
 * `count` stations (CS0…) to the gateway's endpoint, plugs a cable into each one's connector 1, and then answers
 * the gateway on its own (starts, stops, meter values). Out of the gateway's process, so that the gateway's RSS
 * per connected station is the gateway's alone.
 */
import { TestStation } from '../../tests/support/ocpp-station.js';

export type ToStations =
  | { type: 'init'; endpoint: string; count: number; password: string }
  | { type: 'close' };
export type FromStations = { type: 'ready' } | { type: 'error'; message: string };

const stations: TestStation[] = [];
const send = (message: FromStations) => process.send?.(message);

process.on('message', (message: ToStations) => {
  if (message.type === 'close') {
    void Promise.all(stations.map((s) => s.close())).finally(() => process.exit(0));
    return;
  }
  void (async () => {
    for (let i = 0; i < message.count; i++) {
      const station = new TestStation({
        endpoint: message.endpoint,
        stationId: `CS${i}`,
        password: message.password,
        protocol: 'ocpp2.0.1',
        connectors: 1,
        tickMs: 5000,
      });
      stations.push(station);
      await station.connect();
      await station.plug(1);
    }
    send({ type: 'ready' });
  })().catch((error: unknown) => send({ type: 'error', message: (error as Error).message }));
});
// The scenario ends: so does this process, whatever happened to the scenario.
process.on('disconnect', () => process.exit(0));
