/** Maps every failure a driver can meet (PROTOCOL §6 codes and the vehicle's own) to a message and a next step. */
import {
  AUTH_FAILURE_CODES,
  type AuthFailureCode,
  ERROR_CODES,
  type ErrorCode,
  isOneOf,
} from '../../shared/errors.js';
import type { MessageKey } from './en.js';

export type NextAction = 'retry' | 'anotherPile' | 'renew' | 'wait' | 'dismiss';

const NEXT: Record<AuthFailureCode, NextAction> = {
  MALFORMED: 'retry',
  UNSUPPORTED_VERSION: 'anotherPile',
  WRONG_PILE: 'renew',
  WRONG_VEHICLE: 'renew',
  TICKET_NOT_YET_VALID: 'wait',
  TICKET_EXPIRED: 'renew',
  UNKNOWN_KEY_OFFSET: 'renew',
  // the pile derived another AK from the ticket than the one the vehicle holds: a new credential fixes that
  BAD_REQUEST_MAC: 'renew',
  REVOKED: 'renew',
  REPLAY: 'retry',
  UNKNOWN_CONNECTOR: 'anotherPile',
  CONNECTOR_BUSY: 'anotherPile',
  RATE_LIMITED: 'wait',
  BAD_PROOF: 'renew',
  TIMEOUT: 'retry',
  INTERNAL: 'anotherPile',
  PILE_NOT_AUTHENTIC: 'anotherPile',
  BAD_RESULT_MAC: 'anotherPile',
  OFFER_INVALID: 'anotherPile',
  OFFER_DECLINED: 'dismiss',
  NO_CREDENTIAL: 'renew',
  NOT_CONNECTED: 'retry',
};

export interface FailureAdvice {
  code: string;
  message: MessageKey;
  action: NextAction;
  /** the pile failed to prove it is genuine: the strongest warning the UI has */
  counterfeit: boolean;
}

/** Advice for a failure; a code this build does not know (a newer pile's) gets the generic advice. */
export function adviceFor(code: string): FailureAdvice {
  if (isOneOf(AUTH_FAILURE_CODES, code)) {
    return {
      code,
      message: `err.${code}`,
      action: NEXT[code],
      counterfeit: code === 'PILE_NOT_AUTHENTIC',
    };
  }
  return { code, message: 'err.UNKNOWN', action: 'retry', counterfeit: false };
}

export const ACTION_LABEL: Record<NextAction, MessageKey> = {
  retry: 'action.retry',
  anotherPile: 'action.anotherPile',
  renew: 'action.renew',
  wait: 'action.wait',
  dismiss: 'action.dismiss',
};

/** Every §6 code has advice (checked by the unit test, kept here so the list is one import away). */
export const PROTOCOL_CODES: readonly ErrorCode[] = ERROR_CODES;
