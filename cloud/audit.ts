/** The audit trail: one row per change, by the admin CLI or the service. */
import type { CloudTx } from './store/cloud-store.js';

export type AuditActor = 'cli' | 'service';

/** Appends an audit row in the unit of work that makes the change; `at` in Unix seconds. */
export function audit(
  tx: CloudTx,
  actor: AuditActor,
  action: string,
  subject: string | null,
  at: number,
  detail?: unknown,
): Promise<void> {
  return tx.audit({
    ts: at,
    actor,
    action,
    subject,
    detail: detail === undefined ? null : JSON.stringify(detail),
  });
}
