/**
 * What the operator page reads from GET /operator/api/view: the gateway's piles and connectors, its open
 * sessions with the last reading it signed, the last receipts and the refused requests by code. Types only:
 * the gateway (operator-view.ts) writes it, the page (Lit, in the browser) reads it.
 */
import type { PileStatus } from '../../shared/index.js';

export type OperatorConnector = PileStatus['connectors'][number] & { maxW: number };

export interface OperatorPile {
  pid: string;
  connectors: OperatorConnector[];
  /** auth.requests this pile refused since the gateway started, by PROTOCOL §6 code (non-zero only) */
  refused: Record<string, number>;
}

export interface OperatorSession {
  sid: string;
  pid: string;
  connector: number;
  vid: string;
  /** ms since the epoch */
  startedAt: number;
  /** the last reading the gateway signed and sent the vehicle */
  wh: number;
  w: number;
  lastMeterAt: number;
  maxWh: number | null;
  pricePerKWh: string;
  currency: string;
  /** the cost so far at the session's tariff, decimal string */
  cost: string;
}

export interface OperatorReceipt {
  sid: string;
  pid: string;
  connector: number;
  vid: string;
  startedAt: number;
  endedAt: number;
  reason: string;
  wh: number;
  currency: string;
  cost: string;
}

export interface OperatorView {
  v: 1;
  gid: string;
  /** when the view was made, ms since the epoch */
  at: number;
  mqtt: 'connected' | 'disconnected';
  piles: OperatorPile[];
  /** how many piles the gateway serves (piles lists at most MAX_VIEW_PILES of them) */
  pilesTotal: number;
  sessions: OperatorSession[];
  /** how many sessions are open (sessions lists at most MAX_VIEW_SESSIONS of them) */
  sessionsTotal: number;
  /** the newest receipts first */
  receipts: OperatorReceipt[];
  /** refusals over every pile, by code (non-zero only) */
  refused: Record<string, number>;
}

/** Bounds of one view: a gateway may serve 10,000 piles, a page shows what a technician can read. */
export const MAX_VIEW_PILES = 500;
export const MAX_VIEW_SESSIONS = 500;
export const VIEW_RECEIPTS = 20;
