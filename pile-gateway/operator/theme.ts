/**
 * The operator page's look: the head unit's dark palette and panels (head-unit/ui/theme.ts), denser for a
 * technician's laptop. Its own copy: the page is the gateway's, and the parties share no code but shared/.
 */
import { css } from 'lit';

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
    --mono: ui-monospace, monospace;
    display: block;
    color: var(--text);
    font-size: 16px;
    box-sizing: border-box;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  button,
  input {
    min-height: 40px;
    border-radius: 10px;
    border: 1px solid var(--line);
    background: var(--panel-2);
    color: var(--text);
    font: inherit;
    padding: 0 14px;
  }
  button {
    font-weight: 600;
    cursor: pointer;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: #04121c;
  }
  button:focus-visible,
  input:focus-visible {
    outline: 3px solid var(--accent);
    outline-offset: 2px;
  }
  .panel {
    background: var(--panel);
    border: 1px solid var(--line);
    border-radius: var(--radius);
    padding: 16px;
  }
  .muted {
    color: var(--muted);
  }
  h1,
  h2,
  h3 {
    margin: 0 0 10px;
    font-weight: 650;
  }
  h1 {
    font-size: 24px;
  }
  h2 {
    font-size: 19px;
  }
  h3 {
    font-size: 17px;
  }
  .state-available {
    color: var(--ok);
  }
  .state-occupied,
  .state-charging {
    color: var(--warn);
  }
  .state-faulted,
  .state-offline {
    color: var(--bad);
  }
`;
