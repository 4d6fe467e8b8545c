/**
 * The keys issuing needs, unsealed and derived once instead of once per credential: TK per (pile, offset) and
 * the seal key per vehicle. Opening a sealed key and deriving from it cost more than issuing the ticket itself.
 * A cache lives for one pass (or one request) only; nothing outlives it.
 */
import { deriveSealKey, deriveTicketKey } from '../shared/index.js';
import { RegistryError } from './registry-records.js';
import type { MasterKey } from './secrets.js';
import type { CloudReads } from './store/cloud-store.js';
import type { PileRow } from './store/records.js';

export class IssuingKeys {
  private readonly ticketKeys = new Map<string, Uint8Array>();
  private readonly sealKeys = new Map<string, Uint8Array>();

  constructor(private readonly masterKey: MasterKey) {}

  /** TK for the pile's offset `off` (PROTOCOL §3); the root key is wiped as soon as TK is derived. */
  ticketKey(pile: Pick<PileRow, 'pid' | 'root_key_sealed'>, off: number): Uint8Array {
    const id = `${pile.pid}\u0000${off}`;
    let tk = this.ticketKeys.get(id);
    if (!tk) {
      const rootKey = this.masterKey.openPileRootKey(pile.pid, pile.root_key_sealed);
      tk = deriveTicketKey(rootKey, off, pile.pid);
      rootKey.fill(0);
      this.ticketKeys.set(id, tk);
    }
    return tk;
  }

  /** The vehicle's credential seal key (PROTOCOL §5), its sealed key read in the caller's unit of work. */
  async sealKey(tx: CloudReads, vid: string): Promise<Uint8Array> {
    let key = this.sealKeys.get(vid);
    if (!key) {
      const vehicle = await tx.vehicle(vid);
      if (!vehicle) throw new RegistryError('NOT_FOUND', `unknown vehicle ${vid}`);
      const vehicleKey = this.masterKey.openVehicleKey(vid, vehicle.vehicle_key_sealed);
      key = deriveSealKey(vehicleKey, vid);
      vehicleKey.fill(0);
      this.sealKeys.set(vid, key);
    }
    return key;
  }

  /** A pass moves pile by pile: the previous pile's ticket keys are not needed again. */
  forgetTicketKeys(): void {
    for (const tk of this.ticketKeys.values()) tk.fill(0);
    this.ticketKeys.clear();
  }

  forget(): void {
    this.forgetTicketKeys();
    for (const key of this.sealKeys.values()) key.fill(0);
    this.sealKeys.clear();
  }
}
