/** Shared look: dark by default, large type, touch targets of at least 48 px. */
import { css, unsafeCSS } from 'lit';
import { CJK_FONT_FAMILY } from '../i18n/font-family.js';

export const theme = css`
  :host {
    --bg: #0f1318;
    --panel: #181e26;
    --panel-2: #212934;
    --line: #2e3846;
    --text: #e8edf2;
    --muted: #9aa8b8;
    --accent: #3fb6ff;
    --ok: #3ddc84;
    --warn: #ffb020;
    --bad: #ff5a5f;
    --radius: 14px;
    --touch: 48px;
    /* Codes and pasted text; Chinese words among them come from the app's own font. */
    --mono: ui-monospace, monospace, '${unsafeCSS(CJK_FONT_FAMILY)}';
    color: var(--text);
    font-size: 18px;
    box-sizing: border-box;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  button {
    min-height: var(--touch);
    min-width: var(--touch);
    padding: 0 20px;
    border-radius: 12px;
    border: 1px solid var(--line);
    background: var(--panel-2);
    color: var(--text);
    font: inherit;
    font-weight: 600;
    cursor: pointer;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: #04121c;
  }
  button.danger {
    background: var(--bad);
    border-color: var(--bad);
    color: #1a0405;
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
  /* The focus ring: drawn for keyboard and rotary-knob use, outside the control so it shows on any fill. */
  button:focus-visible,
  a:focus-visible,
  input:focus-visible,
  textarea:focus-visible,
  [tabindex]:focus-visible {
    outline: 3px solid var(--accent);
    outline-offset: 2px;
  }
  /* A control scrolled into view on focus keeps its ring in view too. */
  button,
  a,
  input,
  textarea,
  [tabindex] {
    scroll-margin: 12px;
  }
  /* Read by screen readers, not drawn. */
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  .panel {
    background: var(--panel);
    border: 1px solid var(--line);
    border-radius: var(--radius);
    padding: 20px;
  }
  .muted {
    color: var(--muted);
  }
  h1,
  h2,
  h3 {
    margin: 0 0 12px;
    font-weight: 650;
  }
  h1 {
    font-size: 28px;
  }
  h2 {
    font-size: 22px;
  }
  /* Whether the pile signed a receipt (charger-signature.ts): a badge, ringed so it reads without colour too. */
  .signature {
    display: inline-block;
    padding: 4px 12px;
    border: 2px solid currentColor;
    border-radius: 999px;
    font-weight: 650;
  }
  .signature.signed {
    color: var(--ok);
  }
  .signature.unchecked,
  .signature.unsigned {
    color: var(--warn);
  }
  .state-available {
    color: var(--ok);
  }
  .state-occupied,
  .state-charging {
    color: var(--warn);
  }
  .state-faulted,
  .state-offline,
  .state-unknown {
    color: var(--bad);
  }
`;

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
