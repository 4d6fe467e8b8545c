/** Pure geometry of the energy-over-time chart, kept apart from the element so it is unit-tested. */
import type { EnergyPoint } from '../state/history-store.js';

export interface ChartGeometry {
  path: string;
  area: string;
  maxWh: number;
  durationMs: number;
}

/** Scales points into a width x height box (y grows downward); empty path for fewer than two points. */
export function chartGeometry(points: readonly EnergyPoint[], width: number, height: number): ChartGeometry {
  if (points.length === 0) return { path: '', area: '', maxWh: 0, durationMs: 0 };
  const t0 = points[0]!.t;
  const durationMs = Math.max(0, points[points.length - 1]!.t - t0);
  const maxWh = Math.max(...points.map((p) => p.wh));
  if (points.length < 2) return { path: '', area: '', maxWh, durationMs };
  const sx = durationMs > 0 ? width / durationMs : 0;
  const sy = maxWh > 0 ? height / maxWh : 0;
  const coords = points.map((p) => {
    const x = ((p.t - t0) * sx).toFixed(1);
    const y = (height - p.wh * sy).toFixed(1);
    return `${x},${y}`;
  });
  const path = `M${coords.join('L')}`;
  const lastX = (durationMs * sx).toFixed(1);
  return { path, area: `${path}L${lastX},${height}L0,${height}Z`, maxWh, durationMs };
}
