/** Sealed credentials and credential requests (PROTOCOL §5). */
import { AEAD_NONCE_BYTES, aeadOpen, aeadSeal } from './crypto/aead.js';
import { b64uDecode, b64uEncode, tryB64uDecode, utf8Decode, utf8ToBytes } from './crypto/bytes.js';
import { deriveSealKey, deriveVehicleMacKey } from './crypto/kdf.js';
import { LABEL } from './crypto/labels.js';
import { mac, verifyMac } from './crypto/mac.js';
import { fail, ok, type Result } from './errors.js';
import { RANDOM_BYTES, type RandomSource } from './ids.js';
import { CredentialPlain } from './messages/bodies.js';
import { decodeBody, decodeMessage } from './messages/decode.js';
import { type CredentialRequest, SealedCredential } from './messages/wire.js';
import { type ParsedTicket, parseTicket } from './ticket.js';
import { topics } from './topics.js';

export { deriveSealKey, deriveVehicleMacKey };

/** What a vehicle holds for one pile: the ticket and the auth key, both from the cloud. */
export interface VehicleCredential {
  pid: string;
  tid: string;
  exp: number;
  /** b64u(T) */
  ticket: string;
  /** AK, 32 bytes */
  ak: Uint8Array;
  /** the ticket, parsed once */
  parsed: ParsedTicket;
  /** §8a the pile's public signing key (SEC1 compressed, b64u); absent in revision-1 credentials */
  signKey?: string;
}

export interface CredentialContent {
  ticket: string;
  ak: Uint8Array;
  pid: string;
  tid: string;
  exp: number;
  /** §8a the pile's public signing key; left out for a revision-1 credential */
  signKey?: string;
}

/** The plaintext JSON, fields in PROTOCOL §5 order. */
export function credentialPlaintext(content: CredentialContent): string {
  return JSON.stringify({
    ticket: content.ticket,
    ak: b64uEncode(content.ak),
    pid: content.pid,
    tid: content.tid,
    exp: content.exp,
    ...(content.signKey !== undefined ? { signKey: content.signKey } : {}),
  });
}

/** Seals a credential to one vehicle and one topic: {"v":1,"n","c"} with aad = utf8(topic). */
export function sealCredential(
  sealKey: Uint8Array,
  vid: string,
  content: CredentialContent,
  nonce: Uint8Array,
): { topic: string; payload: string } {
  if (nonce.length !== AEAD_NONCE_BYTES) throw new RangeError('sealCredential: nonce must be 24 bytes');
  const topic = topics.credential(vid, content.pid);
  const c = aeadSeal(sealKey, nonce, utf8ToBytes(credentialPlaintext(content)), utf8ToBytes(topic));
  return { topic, payload: JSON.stringify({ v: 1, n: b64uEncode(nonce), c: b64uEncode(c) }) };
}

export type OpenCredentialError = 'MALFORMED' | 'UNSUPPORTED_VERSION' | 'CANNOT_OPEN' | 'MISMATCH';

/**
 * Opens a sealed credential received on `topic`. Fails if moved to another topic or vehicle (AAD),
 * if the plaintext is not a credential, or if it names another pile than the topic does.
 */
export function openCredential(
  sealKey: Uint8Array,
  topic: string,
  payload: Uint8Array | string,
): Result<VehicleCredential, OpenCredentialError> {
  const sealed = decodeMessage(SealedCredential, payload);
  if (!sealed.ok) return sealed;
  const nonce = tryB64uDecode(sealed.value.n, AEAD_NONCE_BYTES);
  const ciphertext = tryB64uDecode(sealed.value.c);
  if (!nonce || !ciphertext) return fail('MALFORMED', 'sealed credential is not base64url');
  const plain = aeadOpen(sealKey, nonce, ciphertext, utf8ToBytes(topic));
  if (!plain) return fail('CANNOT_OPEN', 'credential does not open with this vehicle key and topic');
  let text: string;
  try {
    text = utf8Decode(plain);
  } catch {
    return fail('MALFORMED', 'credential plaintext is not UTF-8');
  }
  const body = decodeBody(CredentialPlain, text);
  if (!body.ok) return fail('MALFORMED', `credential: ${body.message}`);
  const ticket = parseTicket(body.value.ticket);
  if (!ticket.ok) return ticket;
  const ak = tryB64uDecode(body.value.ak, 32);
  if (!ak) return fail('MALFORMED', 'credential ak is not 32 bytes of base64url');
  const t = ticket.value.body;
  if (t.pid !== body.value.pid || t.tid !== body.value.tid || t.exp !== body.value.exp) {
    return fail('MISMATCH', 'credential fields disagree with its ticket');
  }
  if (!topic.endsWith(`/credentials/${t.pid}`)) return fail('MISMATCH', 'credential is for another pile');
  const { signKey } = body.value;
  return ok({
    pid: t.pid,
    tid: t.tid,
    exp: t.exp,
    ticket: body.value.ticket,
    ak,
    parsed: ticket.value,
    ...(signKey !== undefined ? { signKey } : {}),
  });
}

function credentialRequestMac(
  vmk: Uint8Array,
  vid: string,
  pid: string,
  ts: number,
  nonce: Uint8Array,
): Uint8Array {
  return mac(vmk, LABEL.credentialRequest, vid, pid, String(ts), nonce);
}

/** Builds the vehicle's credential.request; ts in Unix seconds. */
export function buildCredentialRequest(
  vehicleMacKey: Uint8Array,
  vid: string,
  pid: string,
  ts: number,
  random: RandomSource,
): CredentialRequest {
  const nonce = random(RANDOM_BYTES);
  return {
    v: 1,
    type: 'credential.request',
    vid,
    pid,
    ts,
    nonce: b64uEncode(nonce),
    mac: b64uEncode(credentialRequestMac(vehicleMacKey, vid, pid, ts, nonce)),
  };
}

/** Checks the MAC of a credential.request (freshness, nonce and entitlement are the cloud's). */
export function verifyCredentialRequest(vehicleMacKey: Uint8Array, request: CredentialRequest): boolean {
  const nonce = tryB64uDecode(request.nonce, RANDOM_BYTES);
  if (!nonce) return false;
  const expected = credentialRequestMac(vehicleMacKey, request.vid, request.pid, request.ts, nonce);
  return verifyMac(expected, tryB64uDecode(request.mac, 32));
}

export function decodeB64uKey(text: string, what: string): Uint8Array {
  const key = b64uDecode(text);
  if (key.length !== 32) throw new RangeError(`${what}: expected 32 bytes, got ${key.length}`);
  return key;
}
