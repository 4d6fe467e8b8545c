/**
 * The benchmark report: what a run measured (`BenchReport`, written as JSON), its number format, and the SVG chart.
 * The targets are checked in targets.ts, the markdown page is written in report-markdown.ts.
 */
import type { BenchRow } from '../protocol.js';
import type { ClusterResult } from '../scenarios/cluster.js';
import { type BrokerRun, runLabel } from '../scenarios/handshake.js';
import type { HeadUnitResult } from '../scenarios/head-unit.js';
import type { IsoComparison } from '../scenarios/iso15118.js';
import type { IssuanceResult } from '../scenarios/issuance.js';
import type { LoginsResult } from '../scenarios/logins.js';
import type { OcppResult } from '../scenarios/ocpp.js';
import type { ReceiptCostResult } from '../scenarios/receipt-cost.js';
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
  ocpp?: OcppResult;
  cluster?: ClusterResult;
  logins?: LoginsResult;
  receiptCost?: ReceiptCostResult;
  targets: TargetCheck[];
}

/** A number as the report prints it: integers as they are, others to two decimals; n/a when not measured. */
export const fmt = (x: number | undefined, unit = '') =>
  x === undefined || !Number.isFinite(x) ? 'n/a' : `${Number.isInteger(x) ? x : x.toFixed(2)}${unit}`;

const COLOURS: Record<string, string> = {
  aedes: '#1f6fb4',
  mosquitto: '#2a9d3f',
  'aedes, bare pile': '#9bbfe0',
  'mosquitto, bare pile': '#a3d6ae',
};

export function chart(r: BenchReport): string {
  const series: Series[] = [];
  for (const run of r.handshake ?? []) {
    const name = runLabel(run.broker, run.server);
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
