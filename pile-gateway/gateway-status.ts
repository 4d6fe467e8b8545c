/**
 * The gateway's presence on the broker: each pile's retained status and the retained gateways/{gid}/status,
 * online once it serves, offline when it stops (and, through the MQTT will, when it dies).
 */
import { topics } from '../shared/index.js';
import type { Publish } from './active-session.js';

/** The retained gateways/{gid}/status payload (also the will's, with online:false). */
export function gatewayStatusPayload(gid: string, online: boolean): string {
  return JSON.stringify({ v: 1, gid, online });
}

export interface Presence {
  gid: string;
  piles: { setOnline(online: boolean, publish: boolean): void };
  connection: { readonly connected: boolean; publish: Publish };
}

/**
 * Marks every pile online or offline and, while connected, publishes their statuses and then the gateway's:
 * whoever sees the gateway's status change finds its piles' statuses already out.
 */
export function announcePresence({ gid, piles, connection }: Presence, online: boolean): void {
  const connected = connection.connected;
  piles.setOnline(online, connected);
  if (connected)
    connection.publish(topics.gatewayStatus(gid), gatewayStatusPayload(gid, online), { retain: true });
}
