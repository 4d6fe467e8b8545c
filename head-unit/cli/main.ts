#!/usr/bin/env -S npx tsx
/**
 * evauth-vehicle: the headless vehicle client. Reads a vehicle provisioning file, receives its credentials
 * (asks the cloud for a missing one), authenticates at a pile, charges for N seconds verifying every meter MAC,
 * stops and prints the verified receipt. `--json` prints one JSON object for machines.
 */
import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { parseBrokerUrls, parseVehicleProvisioning, type VehicleProvisioning } from '../../shared/index.js';
import { type AuthStep, MemoryCredentialStore, VehicleClient } from '../vehicle/index.js';
import { FileCredentialStore } from './file-store.js';

class UsageError extends Error {}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

function brokerUrls(value: string): string[] {
  const urls = parseBrokerUrls(value);
  if (urls.length === 0) throw new InvalidArgumentError('expected at least one URL');
  const bad = urls.find((url) => !URL.canParse(url));
  if (bad !== undefined) throw new InvalidArgumentError(`not a URL: ${bad}`);
  return urls;
}

function readProvisioning(file: string): VehicleProvisioning {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read provisioning file ${file}: ${(error as Error).message}`);
  }
  const parsed = parseVehicleProvisioning(value);
  if (!parsed.ok) throw new UsageError(`provisioning file ${file}: ${parsed.message}`);
  return parsed.value;
}

interface ChargeOptions {
  provisioning: string;
  pile: string;
  connector: number;
  seconds: number;
  credentials?: string;
  mqttUrl?: string[];
  json?: boolean;
  stepTimeout: number;
  connectTimeout: number;
  retries: number;
}

async function charge(options: ChargeOptions): Promise<number> {
  const provisioning = readProvisioning(options.provisioning);
  const store = options.credentials
    ? new FileCredentialStore(options.credentials)
    : new MemoryCredentialStore();
  const client = new VehicleClient({
    provisioning,
    store,
    stepTimeoutMs: options.stepTimeout,
    ...(options.mqttUrl ? { mqttUrl: options.mqttUrl } : {}),
  });
  const say = (text: string) => {
    if (!options.json) console.log(text);
  };
  try {
    await withTimeout(client.start(), options.connectTimeout, 'connecting to the broker');
    // Retained credentials arrive right after subscribing; give them a moment before asking the cloud.
    if (!client.usableCredential(options.pile)) await waitForCredential(client, options.pile, 500);
    say(`connected as ${provisioning.vid}; authenticating at ${options.pile} connector ${options.connector}`);
    const outcome = await client.authenticate(options.pile, options.connector, {
      retries: options.retries,
      onStep: (s: AuthStep) => say(`  ${s.step.padEnd(14)} +${s.elapsedMs} ms${describeStep(s)}`),
    });
    if (!outcome.ok) {
      if (options.json) {
        printJson({
          ok: false,
          vid: provisioning.vid,
          pid: options.pile,
          code: outcome.code,
          message: outcome.message,
          authenticated: outcome.authenticated,
          steps: outcome.steps,
        });
      } else {
        console.error(`evauth-vehicle: authentication failed: ${outcome.code}: ${outcome.message}`);
      }
      return 1;
    }
    const session = outcome.session;
    session.on('meter', (m) =>
      say(`  meter #${m.seq}: ${m.reading.wh} Wh, ${m.reading.w} W (${m.reading.state}) verified`),
    );
    session.on('meter-rejected', (r) => say(`  REJECTED reading: ${r.code}: ${r.message}`));
    const endedEarly = await Promise.race([
      session.ended.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), options.seconds * 1000)),
    ]);
    const receipt = endedEarly ? await session.ended : await session.stop();
    const r = receipt.receipt;
    if (options.json) {
      printJson({
        ok: true,
        vid: provisioning.vid,
        pid: options.pile,
        connector: options.connector,
        sid: session.sid,
        handshakeMs: outcome.totalMs,
        steps: outcome.steps,
        offer: session.offer,
        meters: session.meters.map((m) => ({ seq: m.seq, ...m.reading })),
        rejected: session.rejected,
        rejectedCount: session.rejectedCount,
        receipt: r,
        receiptMessage: receipt.message,
        receiptVerified: true,
      });
    } else {
      say(`receipt (MAC verified): ${r.wh} Wh, ${r.cost} ${r.currency}, reason ${r.reason}`);
      say(
        `  ${session.meters.length} readings verified, ${session.rejectedCount} rejected; handshake ${outcome.totalMs} ms`,
      );
    }
    return session.rejectedCount === 0 ? 0 : 3;
  } finally {
    await client.close();
  }
}

function describeStep(s: AuthStep): string {
  if (s.step === 'credential') return ` (${s.detail?.source})`;
  if (s.step === 'offer' && s.detail?.offer) {
    const o = s.detail.offer;
    return ` (max ${o.maxW} W, ${o.pricePerKWh} ${o.currency}/kWh)`;
  }
  if (s.step === 'failed') return ` (${s.detail?.code})`;
  return '';
}

function waitForCredential(client: VehicleClient, pid: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    const off = client.on('credential', (c) => {
      if (c.pid === pid && c.credential) done();
    });
    function done() {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

const program = new Command()
  .name('evauth-vehicle')
  .description(
    'Headless evauth vehicle: authenticate at a pile, charge, verify every reading and the receipt',
  )
  .requiredOption('-p, --provisioning <file>', 'vehicle provisioning file (PROTOCOL §11)')
  .requiredOption('--pile <pid>', 'pile id')
  .option('-c, --connector <n>', 'connector id', positiveInt, 1)
  .option('-s, --seconds <n>', 'charge this long, then stop', positiveInt, 5)
  .option('--credentials <file>', 'keep credentials in this file (default: memory only)')
  .option(
    '--mqtt-url <urls>',
    'broker URL, or the nodes of a cluster comma-separated in order of failover (default: the provisioning file mqtt.urls, else mqtt.url)',
    brokerUrls,
  )
  .option('--step-timeout <ms>', 'give up on a handshake step after this long', positiveInt, 5000)
  .option('--retries <n>', 'new handshakes (new sid) after a step timed out', positiveInt, 1)
  .option('--connect-timeout <ms>', 'give up connecting after this long', positiveInt, 10000)
  .option('--json', 'print one JSON object instead of text')
  .action(async (options: ChargeOptions) => {
    process.exitCode = await charge(options);
  });

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`evauth-vehicle: ${message}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
