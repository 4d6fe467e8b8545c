/** pile-gateway: serves many charging piles over one MQTT connection (see docs/gateway.md). */
export type { ChargerController, ChargerEvent, ChargerReading } from './charger.js';
export { SimulatedCharger } from './charger.js';
export type { GatewayConfig, LoadedGatewayConfig, PileConfig } from './config.js';
export { GatewayConfigError, loadGatewayConfig, loadKeystore, parseGatewayConfig } from './config.js';
export { sessionCost } from './cost.js';
export type { RunningGateway, StartGatewayOptions } from './gateway.js';
export { startGateway } from './gateway.js';
export type { SessionRecord } from './store.js';
export { SessionStore } from './store.js';
