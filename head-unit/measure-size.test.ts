import { describe, expect, it } from 'vitest';
import { initialScripts } from './measure-size.js';

describe('initialScripts', () => {
  it('takes the module script and modulepreloads, not lazily imported chunks', () => {
    const html = `<script type="module" crossorigin src="./assets/index-a.js"></script>
      <link rel="modulepreload" crossorigin href="./assets/lit-b.js">
      <link rel="stylesheet" href="./assets/x.css">`;
    expect(initialScripts(html)).toEqual(['assets/index-a.js', 'assets/lit-b.js']);
  });
});
