/**
 * Every set in tests/vectors/evauth-v1.json, whatever their number and names: each output the file names is
 * recomputed from the set's inputs. An output this test does not know how to compute fails the test.
 */
import { describe, expect, it } from 'vitest';
import vectorFile from '../tests/vectors/evauth-v1.json' with { type: 'json' };
import {
  b64uDecode,
  b64uEncode,
  buildAuthAbort,
  buildAuthRequest,
  buildCredentialRequest,
  buildPileControl,
  bytesToHex,
  ControlBody,
  CredentialPlain,
  credentialPlaintext,
  decodeBody,
  deriveAbortMac,
  deriveAuthKey,
  deriveControlKey,
  deriveControlMac,
  deriveErrorMac,
  deriveMeterMac,
  derivePileProof,
  deriveReceiptMac,
  deriveRequestMac,
  deriveResultMac,
  deriveSealKey,
  deriveSessionKey,
  deriveStopMac,
  deriveTicketKey,
  deriveVehicleMacKey,
  deriveVehicleProof,
  hexToBytes,
  mac,
  openCredential,
  parseTicket,
  sealCredential,
  sealOffer,
  topics,
  u32be,
  utf8ToBytes,
  verifyAbortMac,
  verifyCredentialRequest,
  verifyRequestMac,
} from './index.js';

type Inputs = Record<string, unknown> & {
  pid: string;
  vid: string;
  rootKey: string;
  keyOffset: number;
  vehicleKey: string;
  ticketB64u: string;
  sid: string;
  r1: string;
  r3: string;
  offerJson: string;
  offerNonce: string;
  meterSeq: number;
  meterBody: string;
  stopSeq: number;
  receiptBody: string;
  credentialPlainJson: string;
  credentialNonce: string;
  controlBody: string;
  credentialRequest: { ts: number; nonce: string };
  request: { connector: number; ts: number };
  abortReason: string;
};

interface VectorSet {
  name: string;
  inputs: Inputs;
  outputs: Record<string, unknown>;
  negative?: Record<string, string>;
}

const sets = (vectorFile as { sets: VectorSet[] }).sets;

/** Everything derivable from one set's inputs, by the output's name in the file. */
function derive(i: Inputs): Record<string, () => unknown> {
  const rk = hexToBytes(i.rootKey);
  const kv = hexToBytes(i.vehicleKey);
  const T = b64uDecode(i.ticketB64u);
  const sid = hexToBytes(i.sid);
  const r1 = hexToBytes(i.r1);
  const r3 = hexToBytes(i.r3);
  const tk = deriveTicketKey(rk, i.keyOffset, i.pid);
  const ak = deriveAuthKey(tk, T);
  const sk = deriveSessionKey(ak, r1, r3, sid);
  const offer = utf8ToBytes(i.offerJson);
  const sealKey = deriveSealKey(kv, i.vid);
  const ck = deriveControlKey(rk, i.pid);
  const vmk = deriveVehicleMacKey(kv, i.vid);
  const hex = bytesToHex;
  return {
    ticketKey: () => hex(tk),
    authKey: () => hex(ak),
    pileProof: () => hex(derivePileProof(ak, sid, r1, r3, i.pid, i.vid)),
    sessionKey: () => hex(sk),
    offerCiphertext: () => hex(b64uDecode(sealOffer(sk, sid, offer, hexToBytes(i.offerNonce)).c)),
    vehicleProof: () => hex(deriveVehicleProof(ak, sid, r1, r3, i.vid, i.pid, offer)),
    resultMac: () => hex(deriveResultMac(sk, sid)),
    errorMacRateLimited: () => hex(deriveErrorMac(sk, sid, 'RATE_LIMITED')),
    meterMac: () => hex(deriveMeterMac(sk, sid, i.meterSeq, i.meterBody)),
    stopMac: () => hex(deriveStopMac(sk, sid, i.stopSeq)),
    receiptMac: () => hex(deriveReceiptMac(sk, sid, i.receiptBody)),
    credentialTopic: () => topics.credential(i.vid, i.pid),
    credentialPayload: () => {
      const plain = decodeBody(CredentialPlain, i.credentialPlainJson);
      if (!plain.ok) throw new Error(plain.message);
      const content = { ...plain.value, ak: b64uDecode(plain.value.ak) };
      // Our serializer must reproduce the file's plaintext byte for byte.
      expect(credentialPlaintext(content)).toBe(i.credentialPlainJson);
      return JSON.parse(sealCredential(sealKey, i.vid, content, hexToBytes(i.credentialNonce)).payload);
    },
    controlKey: () => hex(ck),
    controlMac: () => hex(deriveControlMac(ck, i.pid, i.controlBody)),
    vehicleMacKey: () => hex(vmk),
    credentialRequestMac: () => {
      const nonce = hexToBytes(i.credentialRequest.nonce);
      const request = buildCredentialRequest(vmk, i.vid, i.pid, i.credentialRequest.ts, () => nonce);
      return hex(b64uDecode(request.mac));
    },
    sealKey: () => hex(sealKey),
    // Revision 2 (§6): the MACs the vehicle puts on auth.request and auth.abort.
    requestMac: () => hex(deriveRequestMac(ak, sid, r1, i.vid, i.pid, i.request.connector, i.request.ts)),
    abortMac: () => hex(deriveAbortMac(ak, sid, i.abortReason)),
  };
}

describe('evauth-v1 vectors', () => {
  it('has at least one set', () => {
    expect(sets.length).toBeGreaterThan(0);
  });

  for (const set of sets) {
    describe(set.name, () => {
      const computed = derive(set.inputs);
      for (const [name, expected] of Object.entries(set.outputs)) {
        it(`output ${name}`, () => {
          const compute = computed[name];
          expect(compute, `no derivation for output "${name}"`).toBeTypeOf('function');
          expect(compute!()).toEqual(expected);
        });
      }

      it('the ticket parses strictly and names the set pid, vid and offset', () => {
        const t = parseTicket(set.inputs.ticketB64u);
        expect(t.ok).toBe(true);
        if (!t.ok) return;
        expect(t.value.body.pid).toBe(set.inputs.pid);
        expect(t.value.body.vid).toBe(set.inputs.vid);
        expect(t.value.body.off).toBe(set.inputs.keyOffset);
        expect(b64uEncode(t.value.bytes)).toBe(set.inputs.ticketB64u);
      });

      it('the sealed credential opens with the vehicle key on its topic only', () => {
        const i = set.inputs;
        const sealKey = deriveSealKey(hexToBytes(i.vehicleKey), i.vid);
        const payload = JSON.stringify(set.outputs.credentialPayload);
        const opened = openCredential(sealKey, topics.credential(i.vid, i.pid), payload);
        expect(opened.ok).toBe(true);
        if (opened.ok) expect(bytesToHex(opened.value.ak)).toBe(set.outputs.authKey);
        const moved = openCredential(sealKey, topics.credential(`${i.vid}x`, i.pid), payload);
        expect(moved.ok ? 'opened' : moved.code).toBe('CANNOT_OPEN');
      });

      it('the control body verifies and builds back to the same text', () => {
        const i = set.inputs;
        const ck = deriveControlKey(hexToBytes(i.rootKey), i.pid);
        const body = decodeBody(ControlBody, i.controlBody);
        expect(body.ok).toBe(true);
        if (!body.ok) return;
        const built = buildPileControl(ck, i.pid, body.value);
        expect(built.body).toBe(i.controlBody);
        expect(bytesToHex(b64uDecode(built.mac))).toBe(set.outputs.controlMac);
      });

      it('revision 2: the built auth.request and auth.abort carry the vector MACs, and verify only unchanged', () => {
        const i = set.inputs;
        const ak = hexToBytes(set.outputs.authKey as string);
        const sid = hexToBytes(i.sid);
        const r1 = hexToBytes(i.r1);
        const fields = { sid, r1, vid: i.vid, pid: i.pid, ticket: i.ticketB64u, ...i.request };
        const request = buildAuthRequest(ak, fields);
        expect(bytesToHex(b64uDecode(request.mac!))).toBe(set.outputs.requestMac);
        expect(verifyRequestMac(ak, request, sid, r1)).toBe(true);
        // The protocol's framing, written out once by hand: the shared function must agree with it.
        const byHand = mac(
          ak,
          'evauth/v1/request',
          sid,
          r1,
          i.vid,
          i.pid,
          u32be(i.request.connector),
          String(i.request.ts),
        );
        expect(bytesToHex(byHand)).toBe(set.outputs.requestMac);
        for (const changed of [
          { ts: request.ts + 1 },
          { connector: request.connector + 1 },
          { vid: `${i.vid}x` },
        ]) {
          expect(verifyRequestMac(ak, { ...request, ...changed }, sid, r1)).toBe(false);
        }
        const { mac: _, ...unmaced } = request;
        expect(verifyRequestMac(ak, unmaced, sid, r1)).toBe(false);
        const abort = buildAuthAbort(ak, sid, i.abortReason);
        expect(bytesToHex(b64uDecode(abort.mac!))).toBe(set.outputs.abortMac);
        expect(verifyAbortMac(ak, sid, abort)).toBe(true);
        expect(verifyAbortMac(ak, sid, { ...abort, reason: 'OFFER_DECLINED' })).toBe(
          i.abortReason === 'OFFER_DECLINED',
        );
      });

      it('the credential request MAC verifies', () => {
        const i = set.inputs;
        const vmk = deriveVehicleMacKey(hexToBytes(i.vehicleKey), i.vid);
        const nonce = hexToBytes(i.credentialRequest.nonce);
        const request = buildCredentialRequest(vmk, i.vid, i.pid, i.credentialRequest.ts, () => nonce);
        expect(verifyCredentialRequest(vmk, request)).toBe(true);
        expect(verifyCredentialRequest(vmk, { ...request, ts: request.ts + 1 })).toBe(false);
      });

      if (set.negative) {
        const negative = set.negative;
        it('negative: a changed ticket or a wrong offset gives another auth key', () => {
          const i = set.inputs;
          const rk = hexToBytes(i.rootKey);
          const sid = hexToBytes(i.sid);
          const r1 = hexToBytes(i.r1);
          const r3 = hexToBytes(i.r3);
          if (negative.tamperedTicketB64u) {
            const akT = deriveAuthKey(
              deriveTicketKey(rk, i.keyOffset, i.pid),
              b64uDecode(negative.tamperedTicketB64u),
            );
            expect(bytesToHex(akT)).toBe(negative.tamperedAuthKey);
            expect(bytesToHex(derivePileProof(akT, sid, r1, r3, i.pid, i.vid))).not.toBe(
              set.outputs.pileProof,
            );
          }
          if (negative.wrongOffsetAuthKey) {
            const T = b64uDecode(i.ticketB64u);
            const candidates = [i.keyOffset + 1, i.keyOffset - 1].filter((o) => o >= 0 && o <= 0xffffffff);
            const derived = candidates.map((o) =>
              bytesToHex(deriveAuthKey(deriveTicketKey(rk, o, i.pid), T)),
            );
            expect(derived).toContain(negative.wrongOffsetAuthKey);
            expect(derived).not.toContain(set.outputs.authKey);
          }
        });
      }
    });
  }
});
