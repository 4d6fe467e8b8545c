/**
 * What is drawn, read from screenshots: the glyph images of a text (to tell real glyphs from the identical boxes
 * drawn for characters no font has), and the pixels around an element (to see its focus ring).
 */
import type { Locator, Page } from '@playwright/test';
import { PNG } from 'pngjs';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The viewport as RGBA pixels (device scale 1: one pixel per CSS pixel). */
export async function viewportPixels(page: Page): Promise<PNG> {
  return PNG.sync.read(await page.screenshot({ animations: 'disabled', caret: 'hide' }));
}

export function pixelAt(png: PNG, x: number, y: number): [number, number, number] {
  const i = (png.width * y + x) * 4;
  return [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
}

export interface CharacterBox extends Box {
  char: string;
  /** the computed font and colour it is drawn with */
  fontSize: string;
  fontWeight: string;
  color: string;
}

/** Where each visible character of the elements' text is drawn (viewport CSS px), from the layout itself. */
export function characterBoxes(elements: Locator): Promise<CharacterBox[]> {
  return elements.evaluateAll((els) => {
    const boxes: CharacterBox[] = [];
    for (const el of els) {
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode() as Text | null; node; node = walker.nextNode() as Text | null) {
        const style = getComputedStyle(node.parentElement!);
        for (let i = 0; i < node.data.length; i++) {
          if (!/\S/.test(node.data[i]!)) continue;
          const range = document.createRange();
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const r = range.getBoundingClientRect();
          boxes.push({
            char: node.data[i]!,
            x: r.x,
            y: r.y,
            width: r.width,
            height: r.height,
            fontSize: style.fontSize,
            fontWeight: style.fontWeight,
            color: style.color,
          });
        }
      }
    }
    return boxes;
  });
}

/** A character's drawing: which pixels of its box differ from the box's background colour. */
export interface GlyphImage {
  char: string;
  width: number;
  height: number;
  ink: Uint8Array;
  inked: number;
}

export function glyphImage(png: PNG, box: Box & { char: string }): GlyphImage {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const width = Math.min(png.width, Math.ceil(box.x + box.width)) - x0;
  const height = Math.min(png.height, Math.ceil(box.y + box.height)) - y0;
  // The background is the commonest colour in the box: glyphs cover a small part of it.
  const counts = new Map<number, number>();
  const colour = (x: number, y: number) => {
    const [r, g, b] = pixelAt(png, x0 + x, y0 + y);
    return (r << 16) | (g << 8) | b;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) counts.set(colour(x, y), (counts.get(colour(x, y)) ?? 0) + 1);
  }
  const background = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
  const channels = (c: number) => [(c >> 16) & 255, (c >> 8) & 255, c & 255];
  const bg = channels(background);
  const ink = new Uint8Array(width * height);
  let inked = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = channels(colour(x, y));
      const distance = Math.max(...px.map((v, i) => Math.abs(v - bg[i]!)));
      if (distance > 64) {
        ink[y * width + x] = 1;
        inked++;
      }
    }
  }
  return { char: box.char, width, height, ink, inked };
}

/**
 * How different two drawings are: pixels inked in one only, over pixels inked in either (0 = the same), at the
 * best alignment within a pixel either way (text at fractional positions lands on the pixel grid differently).
 */
export function glyphDifference(a: GlyphImage, b: GlyphImage): number {
  let best = 1;
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      let either = 0;
      let one = 0;
      for (let y = 0; y < a.height; y++) {
        for (let x = 0; x < a.width; x++) {
          const bx = x + dx;
          const by = y + dy;
          const p = a.ink[y * a.width + x]!;
          const q = bx >= 0 && by >= 0 && bx < b.width && by < b.height ? b.ink[by * b.width + bx]! : 0;
          if (p || q) either++;
          if (p !== q) one++;
        }
      }
      best = Math.min(best, either === 0 ? 0 : one / either);
    }
  }
  return best;
}

/**
 * On which sides of `element` an outline of `colour` is drawn: for the top, right, bottom and left side, whether
 * a pixel of that colour lies where its computed outline should be (past the offset, at the side's middle).
 */
export async function outlineSides(
  page: Page,
  element: Locator,
  colour: readonly [number, number, number],
): Promise<boolean[]> {
  const box = await element.boundingBox();
  if (!box) throw new Error('the element is not drawn');
  const style = await element.evaluate((el) => {
    const s = getComputedStyle(el);
    return { width: Number.parseFloat(s.outlineWidth), offset: Number.parseFloat(s.outlineOffset) };
  });
  const png = await viewportPixels(page);
  const near = (x: number, y: number) => {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= png.width || py >= png.height) return false;
    return pixelAt(png, px, py).every((v, i) => Math.abs(v - colour[i]!) <= 40);
  };
  // The pixels across the outline's band (and one more), going out from the element's edge.
  const band = (edge: number, outwards: 1 | -1) => {
    const positions: number[] = [];
    for (let d = style.offset; d <= style.offset + Math.max(1, style.width) + 1; d++) {
      positions.push(edge + outwards * d);
    }
    return positions;
  };
  const midX = box.x + box.width / 2;
  const midY = box.y + box.height / 2;
  return [
    band(box.y - 1, -1).some((y) => near(midX, y)),
    band(box.x + box.width, 1).some((x) => near(x, midY)),
    band(box.y + box.height, 1).some((y) => near(midX, y)),
    band(box.x - 1, -1).some((x) => near(x, midY)),
  ];
}
