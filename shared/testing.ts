/**
 * Deterministic fixtures for tests and benchmarks: a cloud-side credential issuer in a few lines, a seeded random
 * source and a settable clock. Browser-safe like the rest of shared/.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { VehicleCredential } from './credential.js';
import { utf8ToBytes } from './crypto/bytes.js';
import { deriveAuthKey, deriveTicketKey } from './crypto/kdf.js';
import type { PileAuthenticator, PileOutput } from './handshake/pile.js';
import type { RandomSource } from './ids.js';
import { issueTicket, parseTicket, type TicketTerms } from './ticket.js';

/** A reproducible byte stream (SHA-256 in counter mode over a seed): never for production keys. */
export function seededRandom(seed: string): RandomSource {
  let counter = 0;
  const seedBytes = utf8ToBytes(seed);
  return (length) => {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += 32) {
      const block = new Uint8Array(seedBytes.length + 4);
      block.set(seedBytes);
      new DataView(block.buffer).setUint32(seedBytes.length, counter++);
      out.set(sha256(block).subarray(0, Math.min(32, length - at)), at);
    }
    return out;
  };
}

export class ManualClock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** What the cloud does for one grant: issue a ticket under an offset and derive the vehicle's AK. */
export function issueTestCredential(
  rootKey: Uint8Array,
  terms: TicketTerms,
  random: RandomSource,
): VehicleCredential {
  const ticket = issueTicket(terms, random);
  const ak = deriveAuthKey(deriveTicketKey(rootKey, terms.off, terms.pid), ticket.bytes);
  const parsed = parseTicket(ticket.b64u);
  if (!parsed.ok) throw new Error(parsed.message);
  return {
    pid: terms.pid,
    tid: ticket.body.tid,
    exp: terms.exp,
    ticket: ticket.b64u,
    ak,
    parsed: parsed.value,
  };
}

/** What the pile answers to `payload` when its gateway commits every authorised session at once. */
export function handleAndCommit(pile: PileAuthenticator, payload: string | Uint8Array): PileOutput[] {
  return pile
    .handle(payload)
    .flatMap((o) => (o.kind === 'authorized' ? [o, ...pile.commit(o.session.sid)] : [o]));
}
