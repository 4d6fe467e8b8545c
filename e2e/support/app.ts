/** Helpers shared by the specs: the running system's addresses, opening the app as a demo vehicle, screenshots. */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, type Page } from '@playwright/test';

export interface E2eSystem {
  headUnitUrl: string;
  /** the demo gateway's operator page and its token */
  operatorUrl: string;
  operatorToken: string;
  controlUrl: string;
  dataDir: string;
  mqttUrl: string;
}

export function system(): E2eSystem {
  const info = process.env.EVAUTH_E2E;
  if (!info) throw new Error('EVAUTH_E2E is not set: run through playwright.config.ts (global setup)');
  return JSON.parse(info) as E2eSystem;
}

export async function control(path: string, method: 'GET' | 'POST' = 'POST'): Promise<unknown> {
  const response = await fetch(new URL(path, system().controlUrl), { method });
  if (!response.ok) throw new Error(`control ${path}: ${response.status}`);
  return response.json();
}

/** Opens the app in a fresh context and becomes `vid` through the dev-only picker; waits for the broker link. */
export async function openAs(page: Page, vid: string): Promise<void> {
  await page.goto(system().headUnitUrl);
  await page.getByRole('button', { name: `Use ${vid}` }).click();
  await expect(page.locator('connection-indicator [data-state]')).toHaveAttribute('data-state', 'online');
  await expect(page.locator('header .vehicle')).toHaveText(`Vehicle ${vid}`);
}

export async function openPile(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: `Open ${name}` }).click();
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
}

export function connector(page: Page, id: number) {
  return page.locator(`pile-detail li[data-connector="${id}"]`);
}

const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

/** Keeps a screenshot for the README when EVAUTH_SCREENSHOTS=1 (so plain test runs leave docs/ alone). */
export async function keepScreenshot(page: Page, name: string): Promise<void> {
  if (process.env.EVAUTH_SCREENSHOTS !== '1') return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}${name}.png` });
}
