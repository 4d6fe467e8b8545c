import { describe, expect, it } from 'vitest';
import { chartGeometry } from './chart-geometry.js';

describe('chartGeometry', () => {
  it('maps the first point to the bottom-left and the last to the top-right of a rising curve', () => {
    const g = chartGeometry(
      [
        { t: 1000, wh: 0 },
        { t: 2000, wh: 50 },
        { t: 3000, wh: 100 },
      ],
      200,
      100,
    );
    expect(g.path).toBe('M0.0,100.0L100.0,50.0L200.0,0.0');
    expect(g.area).toBe('M0.0,100.0L100.0,50.0L200.0,0.0L200.0,100L0,100Z');
    expect(g.maxWh).toBe(100);
    expect(g.durationMs).toBe(2000);
  });

  it('draws nothing for fewer than two points and never divides by zero', () => {
    expect(chartGeometry([], 10, 10).path).toBe('');
    expect(chartGeometry([{ t: 5, wh: 3 }], 10, 10)).toMatchObject({ path: '', maxWh: 3 });
    const flat = chartGeometry(
      [
        { t: 5, wh: 0 },
        { t: 5, wh: 0 },
      ],
      10,
      10,
    );
    expect(flat.path).toBe('M0.0,10.0L0.0,10.0');
  });
});
