/**
 * Stopping a gateway, unit by unit in an order that loses nothing: no more ticks; every open session ends with
 * a signed receipt while the broker connection is still up; the piles and the gateway say offline; the
 * connection flushes and closes; then the OCPP endpoint, the HTTP side and the session database. The same
 * order serves a start that failed half-way: a unit that never started is simply absent.
 */
import type { Logger } from 'pino';
import { announcePresence, type Presence } from './gateway-status.js';
import type { SessionStore } from './store.js';

interface Closable {
  close(): Promise<void>;
}

export interface GatewayUnits extends Presence {
  piles: Presence['piles'] & { endAll(reason: 'gateway-shutdown'): void };
  connection: Presence['connection'] & Closable;
  tick?: ReturnType<typeof setInterval>;
  ocpp?: Closable;
  http?: Closable;
  store: SessionStore;
  logger: Logger;
  receiptThread?: Closable;
}

export async function shutdownGateway(units: GatewayUnits): Promise<void> {
  clearInterval(units.tick);
  units.piles.endAll('gateway-shutdown');
  // every session has ended with a receipt made on this thread: receipts still on the signing thread are dropped
  await units.receiptThread?.close();
  announcePresence(units, false);
  await units.connection.close();
  await units.ocpp?.close();
  await units.http?.close();
  units.store.closeDatabase();
  units.logger.info('gateway stopped');
}
