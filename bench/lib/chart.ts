/** A dependency-free SVG line chart: handshake latency percentiles against offered load, one colour per broker
 * (lighter for the bare-pile reference). */

export interface Series {
  label: string;
  colour: string;
  /** dashed for p99, solid for p50 */
  dashed?: boolean;
  points: { x: number; y: number }[];
}

const W = 860;
const H = 420;
const M = { left: 64, right: 210, top: 40, bottom: 56 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** y on a log scale (latency spans 1 ms .. seconds); x linear. */
export function latencyChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** a horizontal reference line, e.g. the 20 ms p99 target */
  target?: { y: number; label: string };
}): string {
  const all = options.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && p.y > 0);
  const xMax = Math.max(1, ...all.map((p) => p.x)) * 1.05;
  const yMin = Math.min(1, ...all.map((p) => p.y));
  const yMax = Math.max(options.target?.y ?? 1, ...all.map((p) => p.y)) * 1.3;
  const lo = Math.log10(yMin);
  const hi = Math.log10(yMax);
  const px = (x: number) => M.left + (x / xMax) * (W - M.left - M.right);
  const py = (y: number) =>
    H - M.bottom - ((Math.log10(Math.max(y, yMin)) - lo) / (hi - lo)) * (H - M.top - M.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(options.title)}</text>`,
  ];
  // y grid at 1-2-5 decades
  for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) {
    for (const m of [1, 2, 5]) {
      const y = m * 10 ** d;
      if (y < yMin || y > yMax) continue;
      parts.push(
        `<line x1="${M.left}" x2="${W - M.right}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#e5e5e5"/>`,
        `<text x="${M.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end" fill="#555">${y >= 1 ? y : y.toFixed(1)}</text>`,
      );
    }
  }
  // x ticks
  const step = niceStep(xMax / 6);
  for (let x = 0; x <= xMax; x += step) {
    parts.push(
      `<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#f0f0f0"/>`,
      `<text x="${px(x).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle" fill="#555">${x}</text>`,
    );
  }
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#999"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`,
  );
  if (options.target) {
    const y = py(options.target.y).toFixed(1);
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#d33" stroke-dasharray="2 3"/>`,
      `<text x="${W - M.right - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#d33">${esc(options.target.label)}</text>`,
    );
  }
  options.series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y) && p.y > 0);
    if (pts.length === 0) return;
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      ...pts.map(
        (p) => `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${s.colour}"/>`,
      ),
    );
    const ly = M.top + 10 + i * 20;
    parts.push(
      `<line x1="${W - M.right + 12}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${W - M.right + 46}" y="${ly + 4}">${esc(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
