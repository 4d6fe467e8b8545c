/** evauth v1 protocol library: runs in the head unit's browser and in Node alike (no node: imports). */

export * from './control.js';
export * from './credential.js';
export * from './crypto/aead.js';
export * from './crypto/backend.js';
export * from './crypto/bytes.js';
export * from './crypto/kdf.js';
export * from './crypto/labels.js';
export * from './crypto/mac.js';
export * from './errors.js';
export * from './handshake/memory.js';
export * from './handshake/pile.js';
export * from './handshake/proofs.js';
export * from './handshake/vehicle.js';
export * from './ids.js';
export * from './messages/bodies.js';
export * from './messages/decode.js';
export * from './messages/wire.js';
export * from './mqtt-log.js';
export * from './provisioning.js';
export * from './random.js';
export * from './rights.js';
export * from './session/macs.js';
export * from './session/pile-session.js';
export * from './session/vehicle-session.js';
export * from './ticket.js';
export * from './topics.js';
