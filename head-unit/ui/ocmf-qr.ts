/**
 * The QR code of an OCMF record, drawn on a canvas. Loaded lazily (with the `qr` encoder) when the driver asks
 * for it, so the first screen's JavaScript does not carry it. A record that does not fit in a QR code, or only
 * with modules too small to scan off the screen, is refused rather than drawn broken.
 */
import encodeQR from 'qr';

/** Quiet zone around the code, in modules (ISO/IEC 18004 asks for 4). */
const QUIET_MODULES = 4;
/** A module smaller than this (CSS px) is not read reliably by a phone camera off a car's screen. */
const MIN_MODULE_PX = 2;

export type QrPlan =
  | { ok: true; modules: boolean[][]; modulePx: number; sidePx: number }
  | { ok: false; length: number };

/** The QR modules of `text` (error correction L: screens are clean) and how large to draw them within `maxPx`. */
export function planQr(text: string, maxPx: number): QrPlan {
  let modules: boolean[][];
  try {
    modules = encodeQR(text, 'raw', { ecc: 'low', encoding: 'byte' });
  } catch {
    return { ok: false, length: text.length }; // beyond version 40's capacity
  }
  const side = modules.length + 2 * QUIET_MODULES;
  const modulePx = Math.floor(maxPx / side);
  if (modulePx < MIN_MODULE_PX) return { ok: false, length: text.length };
  return { ok: true, modules, modulePx, sidePx: side * modulePx };
}

export type DrawnQr = Extract<QrPlan, { ok: true }>;

/** The planned code as RGBA pixels: dark modules on white, with its quiet zone (one pixel per CSS pixel). */
export function rasterQr(plan: DrawnQr): {
  width: number;
  height: number;
  data: Uint8ClampedArray<ArrayBuffer>;
} {
  const side = plan.sidePx;
  const data = new Uint8ClampedArray(new ArrayBuffer(side * side * 4)).fill(255);
  const offset = QUIET_MODULES * plan.modulePx;
  plan.modules.forEach((row, my) => {
    row.forEach((dark, mx) => {
      if (!dark) return;
      for (let y = 0; y < plan.modulePx; y++) {
        const start = ((offset + my * plan.modulePx + y) * side + offset + mx * plan.modulePx) * 4;
        for (let i = 0; i < plan.modulePx * 4; i += 4) data.fill(0, start + i, start + i + 3);
      }
    });
  });
  return { width: side, height: side, data };
}

/** Draws a planned code on the canvas, sized to it. */
export function drawQr(canvas: HTMLCanvasElement, plan: DrawnQr): void {
  const image = rasterQr(plan);
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d')?.putImageData(new ImageData(image.data, image.width, image.height), 0, 0);
}
