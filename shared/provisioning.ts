/** Provisioning files of PROTOCOL §11: the vehicle identity and a pile keystore entry. */
import * as v from 'valibot';
import { validateMessage } from './messages/decode.js';
import { b64uOf, id, u32, version } from './messages/fields.js';

/** Revision 2: every broker node of a cluster, in order of preference (the first is `url` / `wsUrl`). */
const brokerNodes = v.optional(v.pipe(v.array(v.pipe(v.string(), v.url())), v.minLength(1), v.maxLength(64)));

export const VehicleProvisioning = v.object({
  v: version,
  vid: id,
  vehicleKey: b64uOf(32),
  mqtt: v.pipe(
    v.object({
      url: v.pipe(v.string(), v.url()),
      wsUrl: v.pipe(v.string(), v.url()),
      urls: brokerNodes,
      wsUrls: brokerNodes,
      username: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
      password: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
    }),
    v.forward(
      v.check((mqtt) => mqtt.urls === undefined || mqtt.urls[0] === mqtt.url, 'must begin with mqtt.url'),
      ['urls'],
    ),
    v.forward(
      v.check(
        (mqtt) => mqtt.wsUrls === undefined || mqtt.wsUrls[0] === mqtt.wsUrl,
        'must begin with mqtt.wsUrl',
      ),
      ['wsUrls'],
    ),
  ),
});

export const PileKeystoreEntry = v.object({
  v: version,
  pid: id,
  rootKey: b64uOf(32),
  keyOffset: u32,
  /** §8a the pile's P-256 private scalar (32 bytes) that signs its receipts; absent before revision 2 */
  signingKey: v.optional(b64uOf(32)),
});

export type VehicleProvisioning = v.InferOutput<typeof VehicleProvisioning>;
export type PileKeystoreEntry = v.InferOutput<typeof PileKeystoreEntry>;

export function parseVehicleProvisioning(value: unknown) {
  return validateMessage(VehicleProvisioning, value);
}

export function parsePileKeystoreEntry(value: unknown) {
  return validateMessage(PileKeystoreEntry, value);
}
