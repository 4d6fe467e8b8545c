/**
 * Whether the pile signed a receipt (PROTOCOL §8a), as the receipt view and the history show it: signed (its
 * OCMF record verified under the pile's key from the credential), not signed (a revision-1 receipt without a
 * record), or a record kept but not checked (one kept before the car checked records).
 */
import { html } from 'lit';
import type { LocaleController } from '../controllers/locale-controller.js';

export interface ChargerSignature {
  ocmf?: string;
  signedByCharger?: boolean;
}

export function chargerSignatureMark(i18n: LocaleController, receipt: ChargerSignature) {
  const t = i18n.t.bind(i18n);
  if (receipt.ocmf && receipt.signedByCharger)
    return html`<span class="signature signed" data-charger-signature="signed">✔ ${t('receipt.signed')}</span>`;
  if (receipt.ocmf)
    return html`<span class="signature unchecked" data-charger-signature="unchecked">${t('receipt.unchecked')}</span>`;
  return html`<span class="signature unsigned" data-charger-signature="unsigned">${t('receipt.unsigned')}</span>`;
}
