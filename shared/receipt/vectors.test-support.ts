/** The `receipt` of every set in tests/vectors/evauth-v1.json, with the session facts it was signed for. For tests only. */
import vectorFile from '../../tests/vectors/evauth-v1.json' with { type: 'json' };
import { hexToBytes } from '../crypto/bytes.js';
import { ReceiptBody } from '../messages/bodies.js';
import { decodeBody } from '../messages/decode.js';
import { parseTicket } from '../ticket.js';

export interface ReceiptVector {
  name: string;
  /** the pile's private scalar */
  signingKey: Uint8Array;
  signKey: string;
  ocmf: string;
  tamperedOcmf: string;
  pid: string;
  tid: string;
  connector: number;
  wh: number;
  startedAt: number;
  endedAt: number;
}

interface FileSet {
  name: string;
  inputs: { pid: string; ticketB64u: string; receiptBody: string };
  receipt: {
    signingKey: string;
    signKey: string;
    wh: number;
    connector: number;
    ocmf: string;
    tamperedOcmf: string;
  };
}

export function receiptVectors(): ReceiptVector[] {
  return (vectorFile as { sets: FileSet[] }).sets.map((set) => {
    const ticket = parseTicket(set.inputs.ticketB64u);
    const body = decodeBody(ReceiptBody, set.inputs.receiptBody);
    if (!ticket.ok || !body.ok) throw new Error(`${set.name}: ticket or receipt body does not parse`);
    const r = set.receipt;
    return {
      name: set.name,
      signingKey: hexToBytes(r.signingKey),
      signKey: r.signKey,
      ocmf: r.ocmf,
      tamperedOcmf: r.tamperedOcmf,
      pid: set.inputs.pid,
      tid: ticket.value.body.tid,
      connector: r.connector,
      wh: r.wh,
      startedAt: body.value.startedAt,
      endedAt: body.value.endedAt,
    };
  });
}

/** The payload section of an OCMF text (between the two `|`). */
export function payloadSection(ocmf: string): string {
  return ocmf.split('|')[1] ?? '';
}
