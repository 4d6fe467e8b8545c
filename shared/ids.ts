/** Identifier rules of PROTOCOL §1: safe as MQTT topic levels. */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** An OCPP charging station's identity, the {stationId} of ws://host:port/ocpp/{stationId} (OCPP's 48 at most). */
export const OCPP_IDENTITY_PATTERN = /^[A-Za-z0-9*._:+|@-]{1,48}$/;

export type RandomSource = (length: number) => Uint8Array;
/** Milliseconds since the Unix epoch. */
export type Clock = () => number;

export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

export const RANDOM_BYTES = 16;
export const MAX_PAYLOAD_BYTES = 8 * 1024;
/** PROTOCOL §7 rev. 2: a pile.control payload may be this large (trusted only after its mac); every other message keeps 8 KiB */
export const MAX_CONTROL_PAYLOAD_BYTES = 256 * 1024;
export const CLOCK_SKEW_SECONDS = 300;
