/**
 * The head unit's vehicle identity (PROTOCOL §11 provisioning). Where it comes from, in order: a vehicle paired
 * in Settings (kept in localStorage), else the provisioning URL fixed at build time.
 */
// The modules themselves, not shared/index.js: this loads with the first screen, the protocol crypto later.
import { tryB64uDecode, utf8Decode } from '../../shared/crypto/bytes.js';
import { parseVehicleProvisioning, type VehicleProvisioning } from '../../shared/provisioning.js';

export type ParsedCode = { ok: true; value: VehicleProvisioning } | { ok: false; message: string };

/** Accepts the provisioning JSON itself or its base64url encoding (what a QR code or a paste carries). */
export function parseProvisioningCode(code: string): ParsedCode {
  const text = code.trim();
  if (!text) return { ok: false, message: 'empty' };
  let json = text;
  if (!text.startsWith('{')) {
    const bytes = tryB64uDecode(text.replace(/=+$/, ''));
    if (!bytes) return { ok: false, message: 'neither JSON nor base64url' };
    try {
      json = utf8Decode(bytes);
    } catch {
      return { ok: false, message: 'not UTF-8' };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, message: 'not JSON' };
  }
  const parsed = parseVehicleProvisioning(value);
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, message: parsed.message };
}

const KEY = 'evauth.provisioning';

export function loadPairedVehicle(): VehicleProvisioning | undefined {
  const saved = globalThis.localStorage?.getItem(KEY);
  if (!saved) return undefined;
  const parsed = parseProvisioningCode(saved);
  return parsed.ok ? parsed.value : undefined;
}

export function savePairedVehicle(provisioning: VehicleProvisioning): void {
  globalThis.localStorage?.setItem(KEY, JSON.stringify(provisioning));
}

export function forgetPairedVehicle(): void {
  globalThis.localStorage?.removeItem(KEY);
}

/** Fetches the provisioning file from the URL fixed at build time; undefined when none is set or it fails. */
export async function fetchBuildTimeProvisioning(url: string): Promise<VehicleProvisioning | undefined> {
  if (!url) return undefined;
  try {
    const response = await fetch(url, { cache: 'no-store' });
    if (!response.ok) return undefined;
    const parsed = parseProvisioningCode(await response.text());
    return parsed.ok ? parsed.value : undefined;
  } catch {
    return undefined;
  }
}

export interface DemoVehicle {
  vid: string;
  provisioning: VehicleProvisioning;
}

/** The dev-only picker's list (served by head-unit/server.ts in dev mode; 404 otherwise → empty). */
export async function fetchDemoVehicles(): Promise<DemoVehicle[]> {
  try {
    const response = await fetch('./dev/vehicles', { cache: 'no-store' });
    if (!response.ok) return [];
    const body: unknown = await response.json();
    if (!Array.isArray(body)) return [];
    const vehicles: DemoVehicle[] = [];
    for (const item of body) {
      const parsed = parseVehicleProvisioning((item as { provisioning?: unknown })?.provisioning);
      if (parsed.ok) vehicles.push({ vid: parsed.value.vid, provisioning: parsed.value });
    }
    return vehicles;
  } catch {
    return [];
  }
}
