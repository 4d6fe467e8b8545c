import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initialScripts, measureOperatorPageSize, OPERATOR_PAGE_BUDGET_BYTES } from './measure-size.js';

describe('initialScripts', () => {
  it('takes the module script and modulepreloads, not lazily imported chunks', () => {
    const html = `<script type="module" crossorigin src="./assets/index-a.js"></script>
      <link rel="modulepreload" crossorigin href="./assets/lit-b.js">
      <link rel="stylesheet" href="./assets/x.css">`;
    expect(initialScripts(html)).toEqual(['assets/index-a.js', 'assets/lit-b.js']);
  });
});

describe('the operator page size check', () => {
  it('builds the page the production way and keeps it within its own budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evauth-operator-size-'));
    try {
      const size = await measureOperatorPageSize(join(dir, 'dist'));
      expect(size.budgetGzipBytes).toBe(OPERATOR_PAGE_BUDGET_BYTES);
      // It loads up front what it runs: one module script with Lit in it, nothing lazy.
      expect(size.files.filter((f) => f.initial).length).toBeGreaterThan(0);
      expect(size.initialGzipBytes).toBeGreaterThan(4 * 1024);
      expect(size.initialGzipBytes).toBeLessThanOrEqual(OPERATOR_PAGE_BUDGET_BYTES);
      expect(size.withinBudget).toBe(true);
      for (const f of size.files) {
        const code = readFileSync(join(dir, 'dist', f.file), 'utf8');
        expect(code, f.file).not.toContain('Lit is in dev mode');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
