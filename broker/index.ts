/** The evauth MQTT broker: embedded aedes with login and the topic rights of PROTOCOL §9 (shared/rights.ts). */
export type { ClusterOptions } from './cluster.js';
export { GuardedConnection, MqttFrameGuard } from './frame-guard.js';
export { LoginView, RegistryLogins } from './login-view.js';
export { type BrokerOptions, type LoginSource, type RunningBroker, startBroker } from './server.js';
