/**
 * `npm run bench [-- --quick] [--only a,b] [--brokers aedes,mosquitto] [--profile] [--gateway-data DIR]
 * [--from-source] [--no-bare-pile]`:
 * the protocol micro-benchmarks and the system scenarios on real processes. Writes bench/results/latest.json
 * (and a timestamped copy), bench/results/report.md and bench/results/latency.svg; prints the targets table.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { loadavg, machineInfo } from './lib/machine.js';
import { useBuiltServices } from './lib/processes.js';
import { type BenchReport, chart } from './lib/report.js';
import { markdown } from './lib/report-markdown.js';
import { type BrokerKind, MOSQUITTO } from './lib/system.js';
import { checkTargets } from './lib/targets.js';
import { protocolBench } from './protocol.js';
import { clusterScenario } from './scenarios/cluster.js';
import { handshakeScenario } from './scenarios/handshake.js';
import { headUnitScenario } from './scenarios/head-unit.js';
import { isoComparison } from './scenarios/iso15118.js';
import { issuanceScenario } from './scenarios/issuance.js';
import { loginsScenario } from './scenarios/logins.js';
import { ocppScenario } from './scenarios/ocpp.js';
import { receiptCostScenario } from './scenarios/receipt-cost.js';
import { scaleScenario } from './scenarios/scale.js';

const SCENARIOS = [
  'protocol',
  'iso',
  'handshake',
  'scale',
  'issuance',
  'headunit',
  'ocpp',
  'cluster',
  'logins',
  'receipts',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, 'results');

function list<T extends string>(allowed: readonly T[]) {
  return (value: string): T[] => {
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const item of items)
      if (!allowed.includes(item as T)) throw new InvalidArgumentError(`must be among ${allowed.join(', ')}`);
    return items as T[];
  };
}

const program = new Command('npm run bench --')
  .description(
    'evauth benchmarks: protocol core, handshakes through real brokers, scale, issuance, ISO 15118, head unit',
  )
  .option('--quick', 'smaller counts; about 2.5 minutes (1 of them the cluster scenario)', false)
  .option('--only <scenarios>', `comma-separated subset of ${SCENARIOS.join(',')}`, list(SCENARIOS))
  .option('--brokers <brokers>', 'brokers for the handshake scenario', list(['aedes', 'mosquitto'] as const))
  .option(
    '--profile',
    'run the gateway under node --cpu-prof during the handshake scenario (bench/results/profiles)',
    false,
  )
  .option(
    '--gateway-data <dir>',
    'keep the gateway session database here (e.g. on tmpfs) to see what storage costs',
  )
  .option('--no-bare-pile', 'skip the bare-pile reference runs of the handshake scenario')
  .option(
    '--unsigned-receipts',
    "the handshake scenario without the piles' OCMF signing keys (receipts MACed only), to compare",
    false,
  )
  .option('--from-source', 'run the services from TypeScript under tsx instead of built', false)
  .option(
    '--sqlite-sync <mode>',
    'gateway sqliteSync for the handshake scenario: normal (its default) or full',
    list(['full', 'normal'] as const),
  )
  .action(
    async (opts: {
      sqliteSync?: ('full' | 'normal')[];
      quick: boolean;
      only?: Scenario[];
      brokers?: BrokerKind[];
      profile: boolean;
      gatewayData?: string;
      fromSource: boolean;
      unsignedReceipts: boolean;
      barePile: boolean;
    }) => {
      const started = performance.now();
      if (!opts.fromSource) await useBuiltServices();
      const quick = opts.quick;
      const run = new Set<Scenario>(opts.only ?? SCENARIOS);
      const log = (line: string) => console.log(line);
      const machine = machineInfo();
      log(
        `evauth bench${quick ? ' --quick' : ''}: ${machine.cpus} × ${machine.cpuModel}, load average ${machine.loadavg.join(' ')}`,
      );
      const report: Omit<BenchReport, 'targets' | 'durationS' | 'loadavgAtEnd'> = {
        quick,
        machineAtStart: machine,
      };

      if (run.has('protocol')) {
        log('\nprotocol core');
        report.protocol = protocolBench(quick);
        for (const r of report.protocol) log(`  ${r.name}: median ${r.medianUs} µs, p99 ${r.p99Us} µs`);
      }
      if (run.has('iso')) {
        log('\nISO 15118 comparison');
        report.iso15118 = isoComparison(quick);
        for (const r of report.iso15118.ratios)
          log(`  ${r.side} (${r.library}): ISO 15118 costs ${r.isoOverEvauth}× evauth`);
      }
      if (run.has('handshake')) {
        const brokers = opts.brokers ?? (existsSync(MOSQUITTO) ? ['aedes', 'mosquitto'] : ['aedes']);
        log(`\nhandshake latency and throughput (${brokers.join(', ')})`);
        const profileDir = join(resultsDir, 'profiles');
        if (opts.profile) mkdirSync(profileDir, { recursive: true });
        report.handshake = await handshakeScenario({
          quick,
          brokers,
          barePile: opts.barePile,
          log,
          ...(opts.profile ? { gatewayNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
          ...(opts.gatewayData ? { gatewayDataDir: opts.gatewayData } : {}),
          ...(opts.sqliteSync?.[0] ? { sqliteSync: opts.sqliteSync[0] } : {}),
          ...(opts.unsignedReceipts ? { signedReceipts: false } : {}),
        });
      }
      if (run.has('scale')) {
        log('\nscale of one gateway');
        report.scale = await scaleScenario({ quick, log });
      }
      if (run.has('issuance')) {
        log('\ncredential issuance');
        report.issuance = await issuanceScenario({ quick, log });
      }
      if (run.has('headunit')) {
        log('\nhead unit');
        report.headUnit = await headUnitScenario({ quick, log });
      }

      if (run.has('ocpp')) {
        log('\ntap to energised through OCPP');
        report.ocpp = await ocppScenario({ quick, log });
      }

      if (run.has('cluster')) {
        log('\npast one machine: a broker cluster sharing Redis');
        report.cluster = await clusterScenario({ quick, log });
      }

      if (run.has('logins')) {
        log('\nbroker logins during a bad-login flood');
        report.logins = await loginsScenario({ quick, log });
      }

      if (run.has('receipts')) {
        log('\nwhat signing every receipt (OCMF) costs the gateway');
        report.receiptCost = await receiptCostScenario({ quick, log });
      }

      const full: BenchReport = {
        ...report,
        loadavgAtEnd: loadavg(),
        durationS: Math.round((performance.now() - started) / 1000),
        targets: [],
      };
      full.targets = checkTargets(full);
      mkdirSync(resultsDir, { recursive: true });
      const json = `${JSON.stringify(full, null, 2)}\n`;
      writeFileSync(join(resultsDir, 'latest.json'), json);
      writeFileSync(join(resultsDir, `bench-${machine.at.replace(/[:.]/g, '-')}.json`), json);
      writeFileSync(join(resultsDir, 'report.md'), markdown(full));
      if (full.handshake?.length) writeFileSync(join(resultsDir, 'latency.svg'), chart(full));
      log('\n| target | measured | met |\n| --- | --- | --- |');
      for (const t of full.targets)
        log(`| ${t.target} | ${t.measured} | ${t.met === undefined ? 'n/a' : t.met ? 'yes' : 'NO'} |`);
      log(
        `\nwrote ${join(resultsDir, 'report.md')} and latest.json in ${full.durationS} s (load average now ${full.loadavgAtEnd.join(' ')})`,
      );
    },
  );

program.parseAsync().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).message}`);
  process.exit(1);
});
