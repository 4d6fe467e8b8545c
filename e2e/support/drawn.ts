/**
 * That an element is really drawn where a person sees it: inside the viewport, neither clipped by a scrolling or
 * hiding ancestor nor covered by another element, and with pixels of its colour on screen.
 */
import { expect, type Locator, type Page } from '@playwright/test';
import { pixelAt, viewportPixels } from './pixels.js';

export async function expectDrawn(
  page: Page,
  element: Locator,
  colour: readonly [number, number, number],
  what: string,
): Promise<void> {
  await expect(element, `${what}: visible`).toBeVisible();
  const box = await element.boundingBox();
  const viewport = page.viewportSize();
  if (!box || !viewport) throw new Error(`${what}: not laid out`);
  expect(box.x >= 0 && box.y >= 0, `${what}: inside the viewport (top left)`).toBe(true);
  expect(box.x + box.width <= viewport.width, `${what}: inside the viewport (right)`).toBe(true);
  expect(box.y + box.height <= viewport.height, `${what}: inside the viewport (bottom)`).toBe(true);
  const layout = await element.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const clippedBy: string[] = [];
    // Every ancestor that clips (through the shadow roots) must hold the whole box.
    for (
      let node: Element | null = el.parentElement ?? (el.getRootNode() as ShadowRoot).host ?? null;
      node;
    ) {
      if (getComputedStyle(node).overflow !== 'visible') {
        const a = node.getBoundingClientRect();
        if (
          r.left < a.left - 0.5 ||
          r.top < a.top - 0.5 ||
          r.right > a.right + 0.5 ||
          r.bottom > a.bottom + 0.5
        )
          clippedBy.push(node.tagName);
      }
      const root = node.getRootNode();
      node = node.parentElement ?? (root instanceof ShadowRoot ? root.host : null);
    }
    // What is on top at the box's centre, looking into shadow roots.
    let top: Element | null = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    while (top?.shadowRoot) {
      const inner = top.shadowRoot.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      if (!inner || inner === top) break;
      top = inner;
    }
    return {
      clippedBy,
      onTop: top === el || (top !== null && el.contains(top)),
      overflows: el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1,
    };
  });
  expect(layout.clippedBy, `${what}: not clipped`).toEqual([]);
  expect(layout.overflows, `${what}: its text fits its box`).toBe(false);
  expect(layout.onTop, `${what}: not covered`).toBe(true);
  const png = await viewportPixels(page);
  let inked = 0;
  for (let y = Math.ceil(box.y); y < box.y + box.height; y++)
    for (let x = Math.ceil(box.x); x < box.x + box.width; x++)
      if (pixelAt(png, x, y).every((v, i) => Math.abs(v - colour[i]!) <= 40)) inked++;
  expect(inked, `${what}: pixels of its colour on screen`).toBeGreaterThan(50);
}
