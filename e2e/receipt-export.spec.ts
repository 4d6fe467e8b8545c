/**
 * The receipt of PROTOCOL §8a in the head unit, in one flow through the running system: the pile's signature
 * mark as drawn, the export of its OCMF record (clipboard, .ocmf file, QR code read back from the screen), the
 * IndexedDB history migrated from version 1, bounded, and kept across a reload, by rotary knob and in Chinese.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { expect, type Page, test } from '@playwright/test';
import { PNG } from 'pngjs';
import decodeQR from 'qr/decode.js';
import { b64uDecode, parseOcmf, signKeyOf, verifyOcmf } from '../shared/index.js';
import { connector, openAs, openPile, system } from './support/app.js';
import { expectDrawn } from './support/drawn.js';
import { expectGlyphs } from './support/glyphs.js';
import { outlineSides } from './support/pixels.js';

/** The theme's --ok colour (signed). */
const OK: [number, number, number] = [0x3d, 0xdc, 0x84];
/** --accent, the focus ring's colour. */
const RING: [number, number, number] = [0x3f, 0xb6, 0xff];

/** A record a pile signed (the protocol's vectors), as a receipt kept by an earlier version held it. */
const vectors = JSON.parse(
  readFileSync(new URL('../tests/vectors/evauth-v1.json', import.meta.url), 'utf8'),
) as {
  sets: { receipt: { ocmf: string } }[];
};
const OCMF = vectors.sets[0]!.receipt.ocmf;

/** More than a QR code holds (2,953 bytes at version 40-L). */
const TOO_LONG_FOR_QR = `OCMF|{"FV":"1.0","X":"${'A'.repeat(3000)}"}|{}`;

const HOUR = 3_600_000;

/** The pile's public signing key, from the keystore the cloud exported for its gateway (§11 signingKey). */
function pileSignKey(pid: string): string {
  const gateways = join(system().dataDir, 'gateways');
  for (const gid of readdirSync(gateways)) {
    const path = join(gateways, gid, 'keystore.json');
    if (!existsSync(path)) continue;
    const keystore = JSON.parse(readFileSync(path, 'utf8')) as {
      piles: { pid: string; signingKey?: string }[];
    };
    const entry = keystore.piles.find((p) => p.pid === pid);
    if (entry?.signingKey) return signKeyOf(b64uDecode(entry.signingKey));
  }
  throw new Error(`no signing key for ${pid} in ${gateways}`);
}

/** A session as the history kept it (version 1 of its database had no `ocmf` field). */
function keptSession(sid: string, vid: string, startedAt: number, receipt?: string) {
  return {
    sid,
    vid,
    pid: 'P4',
    pileName: 'Old Town Garage P4',
    connector: 1,
    startedAt,
    endedAt: startedAt + HOUR,
    wh: 20_000,
    cost: '9.00',
    currency: 'EUR',
    reason: 'stopped',
    points: [],
    receipt,
  };
}

/** A session.end as the head unit kept it: the body carries the pile's OCMF record where it had one. */
function keptReceipt(ocmf?: string): string {
  const body = {
    reason: 'stopped',
    wh: 20_000,
    cost: '9.00',
    currency: 'EUR',
    startedAt: 1,
    endedAt: 2,
    ocmf,
  };
  return JSON.stringify({
    v: 1,
    type: 'session.end',
    sid: 'A'.repeat(22),
    body: JSON.stringify(body),
    mac: 'A'.repeat(43),
  });
}

/** Writes the history database as version 1 of the app left it, before the app opens it. */
async function seedVersion1History(page: Page, records: ReturnType<typeof keptSession>[]): Promise<void> {
  await page.evaluate(
    (rows) =>
      new Promise<void>((resolve, reject) => {
        const request = indexedDB.open('evauth-head-unit', 1);
        request.onupgradeneeded = () => {
          const store = request.result.createObjectStore('sessions', { keyPath: 'sid' });
          store.createIndex('byStart', 'startedAt');
          for (const row of rows) store.put(row);
        };
        request.onsuccess = () => {
          request.result.close();
          resolve();
        };
        request.onerror = () => reject(request.error);
      }),
    records,
  );
}

/** The sessions the history holds, per vehicle. */
function historyCounts(page: Page): Promise<Record<string, number>> {
  return page.evaluate(
    () =>
      new Promise<Record<string, number>>((resolve, reject) => {
        const request = indexedDB.open('evauth-head-unit');
        request.onsuccess = () => {
          const all = request.result.transaction('sessions').objectStore('sessions').getAll();
          all.onsuccess = () => {
            const counts: Record<string, number> = {};
            for (const r of all.result as { vid: string }[]) counts[r.vid] = (counts[r.vid] ?? 0) + 1;
            request.result.close();
            resolve(counts);
          };
        };
        request.onerror = () => reject(request.error);
      }),
  );
}

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

test('receipts: the charger’s signature is drawn; the OCMF record copies, downloads and scans; history keeps it, migrated and bounded, across a reload', async ({
  page,
}) => {
  await openAs(page, 'EV-ANNA');
  // The history of an earlier version: 500 old sessions of another vehicle and two of this one, one of them
  // with a pile's OCMF record inside its kept session.end.
  const now = Date.now();
  const filler = Array.from({ length: 500 }, (_, i) =>
    keptSession(`old-${i}`, 'EV-OTHER', now - 900 * HOUR + i),
  );
  await seedVersion1History(page, [
    ...filler,
    keptSession('kept-unsigned', 'EV-ANNA', now - 3 * HOUR, keptReceipt()),
    keptSession('kept-ocmf', 'EV-ANNA', now - 2 * HOUR, keptReceipt(OCMF)),
    keptSession('kept-long', 'EV-ANNA', now - 4 * HOUR, keptReceipt(TOO_LONG_FOR_QR)),
  ]);

  // A live session: its receipt is signed by the pile, and says so, drawn inside the screen.
  await openPile(page, 'Old Town Garage P4');
  await connector(page, 1).getByRole('button', { name: 'Charge here' }).click();
  await page.getByRole('button', { name: 'Start charging' }).click();
  await expect(page.locator('charging-view [data-verified="true"]')).toBeVisible();
  const sid = (await page.locator('charging-view [data-sid]').getAttribute('data-sid')) ?? '';
  await page.getByRole('button', { name: 'Stop charging' }).click();
  await expect(page.getByText('Receipt signature verified')).toBeVisible();
  const receipt = page.locator('session-receipt');
  const liveMark = receipt.locator('[data-charger-signature]');
  await expect(liveMark).toHaveText('✔ Signed by the charger');
  await expectDrawn(page, liveMark, OK, 'the receipt’s signed mark');

  // Export: the clipboard, a .ocmf file and a QR code all hold the pile's record, which verifies under its key.
  await receipt.getByRole('button', { name: 'Copy OCMF' }).click();
  await expect(receipt.locator('[data-export-status]')).toHaveText('OCMF text copied.');
  const ocmf = await page.evaluate(() => navigator.clipboard.readText());
  const parsed = parseOcmf(ocmf);
  if (!parsed.ok) throw new Error(parsed.message);
  expect(parsed.value.payload.CI).toBe('P4*1');
  expect(verifyOcmf(ocmf, pileSignKey('P4')).ok).toBe(true);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    receipt.getByRole('button', { name: 'Download .ocmf' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^evauth-P4-\d{4}-\d\d-\d\dT\d{6}-[\w-]{8}\.ocmf$/);
  expect(readFileSync(await download.path(), 'utf8')).toBe(ocmf);
  await receipt.getByRole('button', { name: 'Show QR code' }).click();
  const qr = receipt.getByRole('img', { name: 'QR code of the signed record' });
  await qr.scrollIntoViewIfNeeded();
  const box = (await qr.boundingBox())!;
  expect(box.width).toBeGreaterThanOrEqual(150);
  expect(box.width).toBeLessThanOrEqual(360);
  expect(box.height).toBe(box.width);
  const shot = PNG.sync.read(await qr.screenshot());
  expect(decodeQR({ width: shot.width, height: shot.height, data: shot.data })).toBe(ocmf);
  await page.getByRole('button', { name: 'Done' }).click();

  // Migrated and bounded: the oldest sessions went, this vehicle's four stay; the kept record is exact.
  expect(await historyCounts(page)).toEqual({ 'EV-OTHER': 496, 'EV-ANNA': 4 });
  const entry = (id: string) => page.locator(`session-history li[data-sid="${id}"]`);
  await expect(entry('kept-unsigned').locator('[data-charger-signature]')).toHaveText(
    'Not signed by the charger',
  );
  await expect(entry('kept-unsigned').getByRole('button', { name: 'Copy OCMF' })).toHaveCount(0);
  const kept = entry('kept-ocmf');
  await expect(kept.locator('[data-charger-signature]')).toHaveText('Charger’s signature not checked');
  await kept.getByRole('button', { name: 'Copy OCMF' }).click();
  await expect(kept.locator('[data-export-status]')).toHaveText('OCMF text copied.');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(OCMF);
  // A record too long for a QR code says so, and nothing is drawn.
  const long = entry('kept-long');
  await long.getByRole('button', { name: 'Show QR code' }).click();
  await expect(long.locator('[data-qr="too-long"]')).toHaveText(
    `Too long for a QR code (${TOO_LONG_FOR_QR.length} characters): copy or download it instead.`,
  );
  await expect(long.locator('canvas')).toHaveCount(0);

  // History lives in IndexedDB: after a reload the signed session is still there, with its record.
  await page.reload();
  await page.getByRole('button', { name: 'History' }).click();
  await expect(page.locator('session-history li')).toHaveCount(4);
  const live = entry(sid);
  const signedMark = live.locator('[data-charger-signature]');
  await expect(signedMark).toHaveText('✔ Signed by the charger');
  await expectDrawn(page, signedMark, OK, 'the history’s signed mark');
  const [again] = await Promise.all([
    page.waitForEvent('download'),
    live.getByRole('button', { name: 'Download .ocmf' }).click(),
  ]);
  expect(readFileSync(await again.path(), 'utf8')).toBe(ocmf);

  // A rotary knob reaches every export control (arrow keys move, Enter presses), with a focus ring.
  await live.getByRole('button', { name: 'Copy OCMF' }).focus();
  for (const name of ['Download .ocmf', 'Show QR code']) {
    await page.keyboard.press('ArrowDown');
    const control = live.getByRole('button', { name });
    await expect(control).toBeFocused();
    expect(await outlineSides(page, control, RING), `${name}: focus ring`).toEqual([true, true, true, true]);
  }
  await page.keyboard.press('Enter');
  await expect(live.getByRole('img', { name: 'QR code of the signed record' })).toBeVisible();

  // In Chinese too, and the screen with its export and QR code passes the accessibility audit.
  await page.locator('header [data-action="switch-language"]').click();
  await expect(signedMark).toHaveText('✔ 已由充电桩签名');
  await expectGlyphs(page, signedMark);
  await expect(entry('kept-unsigned').locator('[data-charger-signature]')).toHaveText('未经充电桩签名');
  await expect(live.getByRole('button', { name: '复制 OCMF' })).toBeVisible();
  const audit = await new AxeBuilder({ page }).options({ resultTypes: ['violations'] }).analyze();
  expect(audit.passes.map((r) => r.id)).toContain('color-contrast');
  expect(
    audit.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id),
  ).toEqual([]);
});
