/**
 * # head-unit/vehicle — the vehicle client core (browser-safe: mqtt.js + shared/, no node: imports)
 *
 * ```ts
 * const client = new VehicleClient({ provisioning, mqttUrl: provisioning.mqtt.wsUrl, store });
 * client.on('connection', ({ state }) => …);          // 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'closed'
 * client.on('directory', ({ pid, entry }) => …);      // client.directory: Map<pid, DirectoryEntry>
 * client.on('pile-status', ({ pid, status }) => …);   // client.pileStatus: Map<pid, PileStatus> (live, retained)
 * client.on('gateway-status', ({ gid, status }) => …);// client.gatewayStatus: Map<gid, GatewayStatus>
 * client.on('credential', ({ pid, credential, reason }) => …); // client.credentials: Map<pid, VehicleCredential>;
 *                                                     // reason 'loaded' | 'received' | 'withdrawn' (credential undefined)
 * client.on('credential-denied', ({ pid, code }) => …);
 * await client.start();                               // loads the store, connects, subscribes
 * await client.requestCredential(pid);                // optional: authenticate() asks for a missing one itself
 * const outcome = await client.authenticate(pid, connector, {
 *   confirmOffer: async (offer) => window.confirm(`${offer.pricePerKWh} ${offer.currency}/kWh?`),
 *   onStep: (s) => …,                                 // also emitted as 'auth-step'
 *   retries: 1,                                       // optional: new sid + r1 after a step timed out
 * });
 * // each step { step: 'credential'|'request-sent'|'pile-verified'|'offer'|'response-sent'|'authorized'|'failed',
 * //             at, elapsedMs, sid, detail }
 * if (outcome.ok) {
 *   const session = outcome.session;                  // ChargingSession
 *   session.on('meter', (m) => …);                    // verified readings only; session.meters keeps them
 *   session.on('meter-rejected', (r) => …);           // bad MAC / out of order / energy decreased; session.rejected
 *   const receipt = await session.stop();             // or await session.ended (cap, unplug, fault, restart)
 *   receipt.ocmf; receipt.signedByCharger;            // the pile's OCMF record (PROTOCOL §8a), verified under its signKey
 * } else {
 *   outcome.code;                                     // PROTOCOL §6 code, PILE_NOT_AUTHENTIC, OFFER_DECLINED, NO_CREDENTIAL, …
 * }
 * await client.close();
 * ```
 *
 * Credentials persist through an injected `CredentialStore` (sealed payloads as received: IndexedDB in the
 * browser, a file in the CLI, `MemoryCredentialStore` by default). Only usable (unexpired) credentials are used.
 */
export type {
  ChargingSessionEvents,
  RejectedMeter,
  RejectionCode,
  VerifiedReceipt,
} from './charging.js';
export { ChargingSession } from './charging.js';
export type {
  ConnectionState,
  CredentialChange,
  VehicleClientEvents,
  VehicleClientOptions,
} from './client.js';
export { CredentialError, VehicleClient } from './client.js';
export type { Unsubscribe } from './emitter.js';
export { TypedEmitter } from './emitter.js';
export type {
  AuthenticateOptions,
  AuthFailureCode,
  AuthOutcome,
  AuthStep,
  AuthStepName,
} from './handshake.js';
export type { CredentialStore, StoredCredential } from './store.js';
export { MemoryCredentialStore } from './store.js';
