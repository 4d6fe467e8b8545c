/** The benchmark report: targets checked against the measurements, as JSON, a markdown page and an SVG chart. */
import type { BenchRow } from '../protocol.js';
import type { BrokerRun, LoadStep } from '../scenarios/handshake.js';
import type { HeadUnitResult } from '../scenarios/head-unit.js';
import type { IsoComparison } from '../scenarios/iso15118.js';
import type { IssuanceResult } from '../scenarios/issuance.js';
import type { ScaleResult } from '../scenarios/scale.js';
import { latencyChart, type Series } from './chart.js';
import type { MachineInfo } from './machine.js';

export interface TargetCheck {
  target: string;
  measured: string;
  /** undefined when the scenario did not run or failed */
  met?: boolean;
  note?: string;
}

export interface BenchReport {
  quick: boolean;
  machineAtStart: MachineInfo;
  loadavgAtEnd: [number, number, number];
  durationS: number;
  protocol?: BenchRow[];
  handshake?: BrokerRun[];
  scale?: ScaleResult;
  issuance?: IssuanceResult;
  iso15118?: IsoComparison;
  headUnit?: HeadUnitResult;
  targets: TargetCheck[];
}

const fmt = (x: number | undefined, unit = '') =>
  x === undefined || !Number.isFinite(x) ? 'n/a' : `${Number.isInteger(x) ? x : x.toFixed(2)}${unit}`;

/** A target: at least (`min`) or at most (`max`) this value. */
type Goal = { min: number } | { max: number };

/** By how much a measurement misses its goal, e.g. "short by 55/s (2.8%)". */
export function shortfall(measured: number, goal: Goal, unit: string): string {
  const limit = 'min' in goal ? goal.min : goal.max;
  const gap = Math.abs(measured - limit);
  const percent = limit === 0 ? '' : ` (${((gap / limit) * 100).toFixed(1)}%)`;
  return `${'min' in goal ? 'short' : 'over'} by ${fmt(Math.round(gap * 100) / 100, unit)}${percent}`;
}

/**
 * What bounded a load step, from the CPU of each process: on a machine whose cores are nearly all taken by the
 * gateway, the broker and the load generators together, it is the machine; otherwise something else (a queue,
 * a lock, I/O) that a profile of the gateway (`--profile`) should show.
 */
export function boundAt(step: LoadStep, cores: number): string {
  const generators = step.generatorCpuPercent ?? 0;
  const total = step.gatewayCpuPercent + step.brokerCpuPercent + generators;
  const capacity = cores * 100;
  const split = `gateway ${fmt(step.gatewayCpuPercent)}%, broker ${fmt(step.brokerCpuPercent)}%, load generators ${fmt(generators)}% of a core`;
  return total >= capacity * 0.85
    ? `bound by the machine's ${cores} cores: at ${step.offeredPerS}/s ${split}, ${fmt(Math.round(total))}% of ${capacity}% together`
    : `not bound by CPU (at ${step.offeredPerS}/s ${split}, ${fmt(Math.round(total))}% of ${capacity}%): see a gateway profile (--profile)`;
}

function check(
  target: string,
  measured: number | undefined,
  goal: Goal,
  unit: string,
  note?: string,
  bound?: string,
): TargetCheck {
  const c: TargetCheck = { target, measured: fmt(measured, unit) };
  if (measured !== undefined && Number.isFinite(measured))
    c.met = 'min' in goal ? measured >= goal.min : measured <= goal.max;
  // A missed target says by how much and, where the run knows it, what bounded it.
  const notes = [note, ...(c.met === false ? [shortfall(measured!, goal, unit), bound] : [])].filter(Boolean);
  if (notes.length) c.note = notes.join('; ');
  return c;
}

export function checkTargets(r: Omit<BenchReport, 'targets'>): TargetCheck[] {
  const out: TargetCheck[] = [];
  const cores = r.machineAtStart.cpus;
  // The targets are the gateway's; the bare pile's runs are its reference.
  for (const run of (r.handshake ?? []).filter((x) => x.server !== 'bare')) {
    const b = run.broker;
    const last = run.steps.at(-1);
    const at1000 = run.steps.find((s) => s.offeredPerS === 1000);
    out.push(
      check(
        `>= 2,000 handshakes/s per gateway (${b})`,
        run.peakAchievedPerS,
        { min: 2000 },
        '/s',
        run.stoppedBecause,
        last && boundAt(last, cores),
      ),
      run.p99At1000Ms === undefined && run.steps.length > 0 && !run.error
        ? {
            target: `p99 <= 20 ms at 1,000 handshakes/s (${b})`,
            measured: 'not reached',
            met: false,
            note: `saturated before 1,000/s: ${run.stoppedBecause}`,
          }
        : check(
            `p99 <= 20 ms at 1,000 handshakes/s (${b})`,
            run.p99At1000Ms,
            { max: 20 },
            ' ms',
            undefined,
            at1000 && boundAt(at1000, cores),
          ),
      check(
        `p50 <= 3 ms unloaded (${b})`,
        run.unloadedP50Ms,
        { max: 3 },
        ' ms',
        `one handshake at a time; arriving every 50 ms at idle processes (${run.steps[0]?.offeredPerS ?? '?'}/s): p50 ${run.idleArrivalP50Ms ?? '?'} ms`,
      ),
    );
  }
  if (r.scale) {
    const s = r.scale;
    const c = check(
      `${s.piles.toLocaleString('en')} piles in one gateway in <= 400 MB RSS`,
      s.gatewayServingRssMB || undefined,
      { max: 400 },
      ' MB',
      s.subscribeProblem ??
        s.error ??
        `highest of idle (${s.gatewayIdleRssMB} MB) and under load the system kept up with (${s.servingRatesPerS.map((rate) => `${rate}/s`).join(', ') || 'none'})${s.saturatedAt ? `; at ${s.saturatedAt.offeredPerS}/s, saturated (${s.saturatedAt.why}), ${s.saturatedAt.gatewayRssMB} MB: the backlog's memory on top of the piles'` : ''}`,
    );
    // Memory within budget means nothing if the gateway cannot serve the piles.
    if (s.subscribeProblem || s.peakAchievedPerS === 0) {
      c.met = false;
      c.note = `RSS within budget, but no handshake succeeded: ${s.subscribeProblem ?? s.error ?? 'see the scale table'}`;
    }
    out.push(c);
  }
  if (r.issuance)
    out.push(
      check(
        '>= 5,000 credentials issued per second',
        r.issuance.issuedPerS,
        { min: 5000 },
        '/s',
        r.issuance.error,
      ),
    );
  if (r.headUnit) {
    const h = r.headUnit;
    out.push(
      check('head unit initial JS <= 120 KB gzip', h.initialGzipKB, { max: 120 }, ' KB', h.sizeError),
      check(
        'head unit tap to authorised <= 300 ms',
        h.tapToAuthorisedMs?.p50,
        { max: 300 },
        ' ms (median)',
        h.tapError,
      ),
    );
  }
  return out;
}

function table(head: string[], rows: (string | number)[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/** One sentence setting a bare-pile run beside the gateway's on the same broker. */
export function barePileComparison(runs: BrokerRun[], bare: BrokerRun): string {
  const gateway = runs.find((x) => x.broker === bare.broker && x.server !== 'bare');
  const intro =
    'The same load against the bare pile (`bench/loadgen/bare-pile.ts`): the shared handshake state machine and session signing in one process, with no session database, status, logs or metrics — what the protocol alone costs here.';
  if (!gateway) return intro;
  const cpuAt1000 = (x: BrokerRun) => x.steps.find((s) => s.offeredPerS === 1000)?.gatewayCpuPercent;
  return `${intro} Highest rate with p99 <= 20 ms: gateway ${gateway.maxRateP99Within20Ms || 'none'}/s, bare pile ${bare.maxRateP99Within20Ms || 'none'}/s; peak: gateway ${gateway.peakAchievedPerS}/s, bare pile ${bare.peakAchievedPerS}/s; CPU at 1,000/s: gateway ${fmt(cpuAt1000(gateway))}%, bare pile ${fmt(cpuAt1000(bare))}% of a core.`;
}

export function markdown(r: BenchReport): string {
  const m = r.machineAtStart;
  const lines: string[] = [
    '# evauth benchmark results',
    '',
    `Run ${m.at}${r.quick ? ' (quick mode: smaller counts)' : ''}, ${r.durationS} s. Node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.totalMemMB} MB.`,
    `Load average at start ${m.loadavg.join(' / ')}, at end ${r.loadavgAtEnd.join(' / ')} (1/5/15 min). Everything — broker, gateway, load generator — shares this machine; a load average above the core count means the numbers are pessimistic.`,
    '',
    '## Targets',
    '',
    table(
      ['target', 'measured', 'met', 'note'],
      r.targets.map((t) => [
        t.target,
        t.measured,
        t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**',
        t.note ?? '',
      ]),
    ),
  ];
  if (r.handshake?.length) {
    lines.push(
      '',
      '## 1. Handshake latency and throughput',
      '',
      'Open-loop load from vehicle worker processes; latency from the scheduled send of auth.request to the verified auth.result (each vehicle then stops the session and waits for the signed receipt). ![latency against offered load](latency.svg)',
    );
    for (const run of r.handshake) {
      const bare = run.server === 'bare';
      lines.push(
        '',
        `### ${run.broker}${bare ? ', bare pile (reference)' : ''}: ${run.piles} piles, ${run.vehicles} vehicles, ${run.workers} generator processes`,
        '',
        ...(bare ? [`${barePileComparison(r.handshake, run)}`, ''] : []),
        `${bare ? 'Bare pile' : 'Gateway'} start-up ${run.gatewayStartupMs} ms. Highest rate with p99 <= 20 ms and nothing lost: **${run.maxRateP99Within20Ms || 'none'}/s**; peak verified rate ${run.peakAchievedPerS}/s; stopped: ${run.stoppedBecause}.${run.error ? ` Error: ${run.error}` : ''}`,
        '',
        run.unloaded
          ? `Unloaded, one handshake at a time (each starts when the previous receipt is in): ${run.unloaded.handshakes} handshakes, p50 **${fmt(run.unloaded.p50Ms)} ms**, p95 ${fmt(run.unloaded.p95Ms)} ms, p99 ${fmt(run.unloaded.p99Ms)} ms, ${run.unloaded.failed} failed. At the lowest open-loop rate below, each handshake arrives at processes that have gone idle; waking them is part of that p50.`
          : 'No unloaded run.',
        '',
        table(
          [
            'offered /s',
            'achieved /s',
            'p50 ms',
            'p95 ms',
            'p99 ms',
            'lost',
            'errors',
            bare ? 'bare pile CPU %' : 'gateway CPU %',
            bare ? 'bare pile RSS MB' : 'gateway RSS MB',
            'broker CPU %',
            'broker RSS MB',
            'generators CPU %',
            'load 1m',
          ],
          run.steps.map((s) => [
            s.offeredPerS,
            s.achievedPerS,
            fmt(s.p50Ms),
            fmt(s.p95Ms),
            fmt(s.p99Ms),
            s.lost,
            Object.entries(s.errors)
              .map(([k, v]) => `${k}:${v}`)
              .join(' ') || '0',
            s.gatewayCpuPercent,
            s.gatewayRssMB,
            s.brokerCpuPercent,
            s.brokerRssMB,
            s.generatorCpuPercent ?? '',
            s.loadavg1,
          ]),
        ),
      );
    }
  }
  if (r.scale) {
    const s = r.scale;
    lines.push(
      '',
      `## 2. ${s.piles.toLocaleString('en')} piles in one gateway`,
      '',
      table(
        [
          'piles',
          'connectors',
          'start-up ms',
          'idle RSS MB',
          'RSS MB, highest while keeping up',
          'RSS MB, highest incl. saturated',
          'peak handshakes/s',
          'broker RSS MB',
        ],
        [
          [
            s.piles,
            s.connectors,
            s.gatewayStartupMs,
            s.gatewayIdleRssMB,
            s.gatewayServingRssMB,
            s.gatewayPeakRssMB,
            s.peakAchievedPerS,
            s.brokerRssMB,
          ],
        ],
      ),
    );
    if (s.subscribeProblem) lines.push('', `**Subscriptions failed:** ${s.subscribeProblem}`);
    if (s.steps.length)
      lines.push(
        '',
        table(
          ['offered /s', 'achieved /s', 'p50 ms', 'p99 ms', 'lost', 'gateway CPU %', 'gateway RSS MB'],
          s.steps.map((x) => [
            x.offeredPerS,
            x.achievedPerS,
            fmt(x.p50Ms),
            fmt(x.p99Ms),
            x.lost,
            x.gatewayCpuPercent,
            x.gatewayRssMB,
          ]),
        ),
      );
    if (s.error) lines.push('', `Error: ${s.error}`);
  }
  if (r.issuance) {
    const i = r.issuance;
    lines.push(
      '',
      '## 3. Credential issuance',
      '',
      table(
        [
          'credentials',
          'vehicles × piles',
          'issued and published in ms',
          'per second',
          'broker RSS before MB',
          'broker RSS holding them MB',
          'per credential bytes',
        ],
        [
          [
            i.credentials,
            `${i.vehicles} × ${i.piles}`,
            i.issueMs,
            i.issuedPerS,
            i.brokerRssBeforeMB,
            i.brokerRssAfterMB,
            i.bytesPerCredential,
          ],
        ],
      ),
    );
    if (i.error) lines.push('', `Error: ${i.error}`);
  }
  if (r.iso15118) {
    lines.push(
      '',
      "## 4. Against Plug & Charge's way (ISO 15118, ECDSA P-256)",
      '',
      'Crypto and message work per authentication, one core, same run.',
      '',
      table(
        ['scheme', 'side', 'library', 'median µs', 'p99 µs', 'per second (one core)'],
        r.iso15118.rows.map((x) => [x.scheme, x.side, x.library, x.medianUs, x.p99Us, x.perSecondOneCore]),
      ),
      '',
      table(
        ['side', 'library', 'ISO 15118 cost ÷ evauth cost'],
        r.iso15118.ratios.map((x) => [x.side, x.library, `${x.isoOverEvauth}×`]),
      ),
      '',
      r.iso15118.note,
    );
  }
  if (r.headUnit) {
    const h = r.headUnit;
    lines.push(
      '',
      '## 5. Head unit',
      '',
      table(
        ['initial JS gzip KB', 'lazy JS gzip KB', 'tap → authorised p50 ms', 'p95 ms', 'samples'],
        [
          [
            fmt(h.initialGzipKB),
            fmt(h.lazyGzipKB),
            fmt(h.tapToAuthorisedMs?.p50),
            fmt(h.tapToAuthorisedMs?.p95),
            h.tapToAuthorisedMs?.count ?? 0,
          ],
        ],
      ),
    );
    if (h.sizeError) lines.push('', `Size: ${h.sizeError}`);
    if (h.tapError) lines.push('', `Tap to authorised: ${h.tapError}`);
  }
  if (r.protocol?.length) {
    lines.push(
      '',
      '## Protocol core (one process, no MQTT)',
      '',
      table(
        ['operation', 'median µs', 'p99 µs', 'ops/s', 'target µs'],
        r.protocol.map((x) => [x.name, x.medianUs, x.p99Us, x.opsPerSec, x.targetUs ?? '']),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

const COLOURS: Record<string, string> = {
  aedes: '#1f6fb4',
  mosquitto: '#2a9d3f',
  'aedes, bare pile': '#9bbfe0',
  'mosquitto, bare pile': '#a3d6ae',
};

export function chart(r: BenchReport): string {
  const series: Series[] = [];
  for (const run of r.handshake ?? []) {
    const name = run.server === 'bare' ? `${run.broker}, bare pile` : run.broker;
    const colour = COLOURS[name] ?? '#555';
    series.push(
      {
        label: `${name} p50`,
        colour,
        points: run.steps.map((s) => ({ x: s.offeredPerS, y: s.p50Ms })),
      },
      {
        label: `${name} p99`,
        colour,
        dashed: true,
        points: run.steps.map((s) => ({ x: s.offeredPerS, y: s.p99Ms })),
      },
    );
  }
  return latencyChart({
    title: 'evauth handshake latency against offered load (one gateway process)',
    xLabel: 'offered handshakes per second',
    yLabel: 'latency, ms (log scale)',
    series,
    target: { y: 20, label: 'p99 target 20 ms' },
  });
}
