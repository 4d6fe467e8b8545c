#!/usr/bin/env -S npx tsx
/**
 * evauth-vehicle: the headless vehicle client. Reads a vehicle provisioning file, receives its credentials
 * (asks the cloud for a missing one), authenticates at a pile, charges for N seconds verifying every meter MAC,
 * stops and prints the verified receipt (its OCMF record checked under the pile's signKey). `--json` prints one
 * JSON object for machines. `evauth-vehicle receipts` lists the kept receipts and exports their OCMF records.
 */
import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { parseBrokerUrls, parseVehicleProvisioning, type VehicleProvisioning } from '../../shared/index.js';
import { type AuthStep, MemoryCredentialStore, VehicleClient } from '../vehicle/index.js';
import { FileCredentialStore } from './file-store.js';
import { exportOcmf, ReceiptFile, receiptFileBeside } from './receipt-file.js';

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
  receipts?: string;
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
    const receiptsFile = keptReceiptsFile(options);
    if (receiptsFile) new ReceiptFile(receiptsFile).add(provisioning.vid, receipt);
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
        ...(receipt.ocmf !== undefined ? { ocmf: receipt.ocmf } : {}),
        signedByCharger: receipt.signedByCharger,
      });
    } else {
      const signed = receipt.signedByCharger ? ', OCMF record signed by the charger' : '';
      say(`receipt (MAC verified${signed}): ${r.wh} Wh, ${r.cost} ${r.currency}, reason ${r.reason}`);
      say(
        `  ${session.meters.length} readings verified, ${session.rejectedCount} rejected; handshake ${outcome.totalMs} ms`,
      );
    }
    return session.rejectedCount === 0 ? 0 : 3;
  } finally {
    await client.close();
  }
}

/** Where receipts are kept: --receipts, else receipts.json beside --credentials, else nowhere. */
function keptReceiptsFile(options: { credentials?: string; receipts?: string }): string | undefined {
  return options.receipts ?? (options.credentials ? receiptFileBeside(options.credentials) : undefined);
}

interface ReceiptsOptions {
  credentials?: string;
  receipts?: string;
  provisioning?: string;
  export?: string;
  json?: boolean;
}

/** `evauth-vehicle receipts`: lists the kept receipts, or writes their OCMF records to a folder. */
function receipts(options: ReceiptsOptions): number {
  const file = keptReceiptsFile(options);
  if (!file)
    throw new UsageError('say where the receipts are kept: --credentials <file> or --receipts <file>');
  const vid = options.provisioning ? readProvisioning(options.provisioning).vid : undefined;
  const kept = new ReceiptFile(file).list(vid);
  if (options.export !== undefined) {
    const written = exportOcmf(kept, options.export);
    const unsigned = kept.length - written.length;
    if (options.json) printJson({ files: written, withoutOcmf: unsigned });
    else {
      for (const f of written) console.log(f);
      console.log(
        `${written.length} OCMF record${written.length === 1 ? '' : 's'} written to ${options.export}` +
          (unsigned ? `; ${unsigned} receipt${unsigned === 1 ? '' : 's'} without one` : ''),
      );
    }
    return 0;
  }
  if (options.json) printJson(kept);
  else
    for (const r of kept)
      console.log(
        `${new Date(r.endedAt * 1000).toISOString()}  ${r.pid}*${r.connector}  ${r.wh} Wh  ${r.cost} ${r.currency}  ${r.reason}  ${r.signedByCharger ? 'signed by the charger' : 'MAC only'}`,
      );
  return 0;
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
  );

program
  .command('charge', { isDefault: true })
  .description('authenticate at a pile, charge, stop and print the verified receipt (the default command)')
  .requiredOption('-p, --provisioning <file>', 'vehicle provisioning file (PROTOCOL §11)')
  .requiredOption('--pile <pid>', 'pile id')
  .option('-c, --connector <n>', 'connector id', positiveInt, 1)
  .option('-s, --seconds <n>', 'charge this long, then stop', positiveInt, 5)
  .option('--credentials <file>', 'keep credentials in this file (default: memory only)')
  .option(
    '--receipts <file>',
    'keep accepted receipts in this file (default: receipts.json beside --credentials)',
  )
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

program
  .command('receipts')
  .description('list the receipts kept by earlier charges, or export their OCMF records (PROTOCOL §8a)')
  .option('--credentials <file>', 'the credentials file of the charges (receipts.json beside it)')
  .option('--receipts <file>', 'the receipts file')
  .option('-p, --provisioning <file>', "only this vehicle's receipts")
  .option('--export <dir>', "write each receipt's OCMF record to <dir> as <pile>_<time>_<sid>.ocmf")
  .option('--json', 'print JSON instead of text')
  .action((options: ReceiptsOptions) => {
    process.exitCode = receipts(options);
  });

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`evauth-vehicle: ${message}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
