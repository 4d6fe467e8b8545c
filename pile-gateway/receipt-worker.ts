/**
 * The receipt-signing thread (receipt-thread.ts starts it): makes the session.end of each live session that ends,
 * OCMF record signed through OpenSSL and body MACed, so the gateway's event loop only stores and sends it. Jobs
 * come in batches and are made in the order they came, so a pile's receipts return in the order of their PG.
 */
import { parentPort } from 'node:worker_threads';
import { nodeCryptoBackend } from '../node/crypto.js';
import { createOcmfSigner } from '../node/receipt-signing.js';
import { installCryptoBackend } from '../shared/index.js';
import { type MadeReceipt, makeSessionEnd } from './receipt-maker.js';
import type { ReceiptThreadReply, ReceiptThreadRequest } from './receipt-thread.js';

installCryptoBackend(nodeCryptoBackend);
const unsignable = (error: Error) => (): string => {
  throw error;
};

/** each pile's signer by the number the gateway gave its key; a key that did not import signs with its error */
const signers = new Map<number, (payloadText: string) => string>();
const port = parentPort!;
let replies: ReceiptThreadReply['made'] = [];

port.on('message', (request: ReceiptThreadRequest) => {
  if (request.type === 'key') {
    try {
      signers.set(request.keyId, createOcmfSigner(request.signingKey));
    } catch (error) {
      signers.set(request.keyId, unsignable(error as Error));
    }
    return;
  }
  const answering = replies.length > 0;
  for (const { id, keyId, job } of request.jobs) {
    const sign =
      signers.get(keyId) ?? unsignable(new Error('no signing key was given to the receipt thread'));
    let made: MadeReceipt | undefined;
    try {
      made = makeSessionEnd(job, sign);
    } catch {
      // not even the MACed receipt could be made here: the gateway's thread makes it
    }
    replies.push(made ? { id, made } : { id });
  }
  // Messages that arrived together are answered together: one wake-up of the event loop for all of them.
  if (!answering) setImmediate(reply);
});

function reply(): void {
  port.postMessage({ made: replies } satisfies ReceiptThreadReply);
  replies = [];
}
