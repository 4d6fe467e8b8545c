/**
 * `npm run fuzz:adversary -- --minutes N [--seed S]`: the adversarial harness of tests/adversary for longer.
 * Runs seeded attacks on one real system (broker, cloud, gateway as processes) until the time is up, alternating
 * the attacker's rights (a vehicle login, then a gateway's as well) unless --mode names one; each run has two new
 * genuine vehicles. Prints one line per run and a summary; every violation with the seed and mode that reproduce
 * it. Exits 1 on any violation other than the documented flaw of PROTOCOL §6 (docs/adversary.md), 0 otherwise.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { AttackerMode } from '../tests/adversary/attacker.js';
import { AdversaryWorld, type RunReport } from '../tests/adversary/world.js';

function number(min: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`must be a number >= ${min}`);
    return n;
  };
}

const program = new Command('npm run fuzz:adversary --')
  .description(
    'seeded Dolev-Yao attacks on the real system, with the invariants of issue #12 checked after each run',
  )
  .option('--minutes <n>', 'how long to keep starting runs', number(0), 5)
  .option('--seed <s>', 'the first seed (each run takes the next)', number(0), Date.now() % 1_000_000)
  .addOption(
    new Option('--mode <mode>', 'the attacker’s rights (default: alternate)').choices(['vehicle', 'network']),
  )
  .option('--budget <n>', 'messages the attacker publishes per run', number(1), 60)
  .option(
    '--sessions <n>',
    'sessions each genuine vehicle tries per run (four in a row at one pile)',
    number(1),
    4,
  )
  .option('--runs <n>', 'stop after this many runs (default: only the time limit)', number(1))
  .parse();

const options = program.opts<{
  minutes: number;
  seed: number;
  mode?: AttackerMode;
  budget: number;
  sessions: number;
  runs?: number;
}>();

function line(report: RunReport): string {
  const receipts = report.attempts.filter((a) => a.receipt).length;
  const known = report.violations.length - report.unexpected.length;
  return (
    `seed ${report.seed} ${report.mode.padEnd(7)} sent ${report.attackerSent}, ` +
    `${receipts}/${report.attempts.length} genuine sessions with receipt, ` +
    `${known} known-flaw and ${report.unexpected.length} unexpected violations (${report.ms} ms)` +
    (report.gatewayDisconnects > 0
      ? `; the real gateway lost its connection ${report.gatewayDisconnects} times`
      : '')
  );
}

async function main(): Promise<number> {
  const world = await AdversaryWorld.start();
  const reports: RunReport[] = [];
  const end = Date.now() + options.minutes * 60_000;
  try {
    for (let i = 0; (i === 0 || Date.now() < end) && (options.runs === undefined || i < options.runs); i++) {
      const mode = options.mode ?? (i % 2 === 0 ? 'vehicle' : 'network');
      const report = await world.run({
        mode,
        seed: options.seed + i,
        budget: options.budget,
        sessionsPerVehicle: options.sessions,
      });
      reports.push(report);
      console.log(line(report));
      for (const v of report.violations)
        console.log(`  ${v.knownFlaw ? 'known flaw' : 'VIOLATION '} ${v.invariant}: ${v.detail}`);
    }
  } finally {
    await world.close();
  }
  // A gateway that lost its connection means the attacker disturbed the system by other means than messages.
  const unexpected = reports.filter((r) => r.unexpected.length > 0 || r.gatewayDisconnects > 0);
  const ops = new Map<string, number>();
  for (const r of reports)
    for (const [op, n] of Object.entries(r.ops))
      ops.set(op.split(':')[0]!, (ops.get(op.split(':')[0]!) ?? 0) + n);
  console.log(
    `\n${reports.length} runs, ${reports.reduce((n, r) => n + r.attackerSent, 0)} attacker messages ` +
      `(${[...ops].map(([op, n]) => `${op} ${n}`).join(', ')}), ` +
      `${reports.reduce((n, r) => n + r.attempts.length, 0)} genuine sessions; ` +
      `known flaw seen in ${reports.filter((r) => r.violations.some((v) => v.knownFlaw)).length} runs`,
  );
  const known = new Map<string, number>();
  for (const v of reports.flatMap((r) => r.violations).filter((v) => v.knownFlaw))
    known.set(v.invariant, (known.get(v.invariant) ?? 0) + 1);
  if (known.size > 0) console.log(`known flaw: ${[...known].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  if (unexpected.length === 0) {
    console.log('no violation other than the documented flaw (PROTOCOL §6, docs/adversary.md)');
    return 0;
  }
  console.log('violations to reproduce:');
  for (const r of unexpected)
    console.log(
      `  npm run fuzz:adversary -- --runs 1 --mode ${r.mode} --seed ${r.seed} --budget ${r.budget} --sessions ${r.sessionsPerVehicle}`,
    );
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
