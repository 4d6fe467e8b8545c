/**
 * Scenario 1: handshake latency and throughput. One gateway process serving many piles, simulated vehicles in
 * worker processes, open-loop load at rising rates until saturation, on aedes and on Mosquitto; then the same
 * load against the bare pile (bench/loadgen/bare-pile.ts) as the reference for what the gateway adds.
 */

import { loadavg, ProcessSampler } from '../lib/machine.js';
import { summarize } from '../lib/stats.js';
import {
  type BrokerKind,
  createFleet,
  type Fleet,
  removeFleet,
  startBarePileProcess,
  startBrokerProcess,
  startGatewayProcess,
} from '../lib/system.js';
import { LoadDriver } from '../loadgen/driver.js';
import type { StepResult } from '../loadgen/messages.js';

export interface LoadStep {
  offeredPerS: number;
  durationS: number;
  /** verified auth.result per second over the step */
  achievedPerS: number;
  started: number;
  authorised: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  lost: number;
  errors: Record<string, number>;
  receiptsMissing: number;
  skipped: number;
  schedulerLagMaxMs: number;
  gatewayCpuPercent: number;
  gatewayRssMB: number;
  brokerCpuPercent: number;
  brokerRssMB: number;
  /** the load generator processes together (they share the 2 cores with broker and gateway) */
  generatorCpuPercent: number;
  loadavg1: number;
}

/** What serves the piles: the real gateway, or the bare pile (protocol only: no storage, status, logs, metrics). */
export type PileServer = 'gateway' | 'bare';

/** How a run is named in logs, the report and the chart: the broker, and the bare pile when it served. */
export const runLabel = (broker: BrokerKind, server: PileServer = 'gateway') =>
  server === 'bare' ? `${broker}, bare pile` : broker;

/** The step of a run at an offered rate, if it got that far. */
export const stepAt = (run: Pick<BrokerRun, 'steps'>, offeredPerS: number) =>
  run.steps.find((s) => s.offeredPerS === offeredPerS);

export interface BrokerRun {
  broker: BrokerKind;
  /** absent in results from before the bare-pile reference: the gateway */
  server?: PileServer;
  /** false: the gateway ran without its piles' signing keys (`--unsigned-receipts`, MAC-only receipts) */
  signedReceipts?: false;
  piles: number;
  vehicles: number;
  workers: number;
  gatewayStartupMs: number;
  vehiclesConnectMs: number;
  steps: LoadStep[];
  /** one handshake at a time, each starting when the previous one's receipt is in (`serial`) */
  unloaded?: { handshakes: number; p50Ms: number; p95Ms: number; p99Ms: number; failed: number };
  /** p50 with nothing else in flight (the `unloaded` run) */
  unloadedP50Ms: number;
  /** p50 at the lowest open-loop rate: each handshake arrives at processes that have gone idle */
  idleArrivalP50Ms?: number;
  /** highest offered rate whose p99 <= 20 ms with nothing lost */
  maxRateP99Within20Ms: number;
  /** highest verified auth.result rate reached in any step */
  peakAchievedPerS: number;
  p99At1000Ms?: number;
  stoppedBecause: string;
  error?: string;
}

export interface HandshakeOptions {
  quick: boolean;
  brokers: BrokerKind[];
  rates?: number[];
  stepSeconds?: number;
  piles?: number;
  vehicles?: number;
  workers?: number;
  /** also run each broker's load against the bare pile, as the reference (default true) */
  barePile?: boolean;
  /** node flags for the gateway, e.g. ['--cpu-prof', '--cpu-prof-dir=…'] */
  gatewayNodeArgs?: string[];
  /** put the gateway's session database here (e.g. on tmpfs) instead of its export folder */
  gatewayDataDir?: string;
  /** the gateway's sqliteSync setting (its default is "normal"; "full" fsyncs each session record) */
  sqliteSync?: 'full' | 'normal';
  /** false: the gateway without its piles' signing keys (receipts MACed only), to compare (default true) */
  signedReceipts?: boolean;
  log?: (line: string) => void;
}

export function toLoadStep(
  offeredPerS: number,
  durationS: number,
  r: StepResult,
  gateway: ReturnType<ProcessSampler['stop']>,
  broker: ReturnType<ProcessSampler['stop']>,
  generators: ReturnType<ProcessSampler['stop']>[] = [],
): LoadStep {
  const s = summarize(r.latenciesMs);
  return {
    offeredPerS,
    durationS,
    achievedPerS: Math.round(r.authorised / durationS),
    started: r.started,
    authorised: r.authorised,
    p50Ms: s.p50,
    p95Ms: s.p95,
    p99Ms: s.p99,
    maxMs: s.max,
    lost: r.lost,
    errors: r.errors,
    receiptsMissing: r.receiptsMissing,
    skipped: r.skipped,
    schedulerLagMaxMs: r.schedulerLagMaxMs,
    gatewayCpuPercent: gateway.cpuPercent,
    gatewayRssMB: gateway.rssMaxMB,
    brokerCpuPercent: broker.cpuPercent,
    brokerRssMB: broker.rssMaxMB,
    generatorCpuPercent: Math.round(generators.reduce((sum, g) => sum + g.cpuPercent, 0) * 100) / 100,
    loadavg1: loadavg()[0],
  };
}

/** Why to stop raising the rate, or undefined to go on. */
export function saturation(step: LoadStep): string | undefined {
  const failed = step.lost + Object.values(step.errors).reduce((a, b) => a + b, 0);
  if (step.started > 0 && failed / step.started > 0.02) return `over 2% failed at ${step.offeredPerS}/s`;
  if (step.p99Ms > 1000) return `p99 above 1 s at ${step.offeredPerS}/s`;
  if (step.achievedPerS < step.offeredPerS * 0.8)
    return `achieved below 80% of offered at ${step.offeredPerS}/s`;
  return undefined;
}

async function runOnBroker(
  fleet: Fleet,
  kind: BrokerKind,
  options: HandshakeOptions,
  server: PileServer,
): Promise<BrokerRun> {
  const log = options.log ?? (() => {});
  const rates =
    options.rates ??
    (options.quick
      ? [20, 500, 1000, 2000, 3000]
      : [20, 250, 500, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000]);
  const stepSeconds = options.stepSeconds ?? (options.quick ? 2 : 8);
  const run: BrokerRun = {
    broker: kind,
    server,
    ...(server === 'gateway' && options.signedReceipts === false ? { signedReceipts: false as const } : {}),
    piles: fleet.piles.length,
    vehicles: fleet.vehicles.length,
    workers: options.workers ?? 2,
    gatewayStartupMs: 0,
    vehiclesConnectMs: 0,
    steps: [],
    unloadedP50Ms: Number.NaN,
    maxRateP99Within20Ms: 0,
    peakAchievedPerS: 0,
    stoppedBecause: 'all rates done',
  };
  const label = runLabel(kind, server);
  const serverName =
    server === 'bare'
      ? 'bare pile'
      : run.signedReceipts === false
        ? 'gateway (MAC-only receipts)'
        : 'gateway';
  const broker = await startBrokerProcess(fleet, kind);
  let gateway: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
  let driver: LoadDriver | undefined;
  try {
    gateway =
      server === 'bare'
        ? await startBarePileProcess(fleet, broker.url)
        : await startGatewayProcess(fleet, broker.url, {
            ...(options.gatewayNodeArgs ? { nodeArgs: options.gatewayNodeArgs } : {}),
            ...(options.gatewayDataDir ? { dataDir: options.gatewayDataDir } : {}),
            ...(options.sqliteSync ? { sqliteSync: options.sqliteSync } : {}),
            ...(options.signedReceipts === false ? { signedReceipts: false } : {}),
          });
    run.gatewayStartupMs = gateway.startupMs;
    const started = await LoadDriver.start({
      mqttUrl: broker.url,
      vehicles: fleet.vehicles,
      piles: fleet.piles,
      workers: run.workers,
    });
    driver = started.driver;
    run.vehiclesConnectMs = started.connectMs;
    log(
      `  ${label}: ${serverName} up in ${gateway.startupMs} ms, ${fleet.vehicles.length} vehicles in ${started.connectMs} ms`,
    );
    await driver.step(20, 1000, 3000); // warm-up: JIT, SQLite, broker routes
    const serial = await driver.serial(options.quick ? 300 : 1000);
    const ss = summarize(serial.latenciesMs);
    run.unloaded = {
      handshakes: serial.authorised,
      p50Ms: ss.p50,
      p95Ms: ss.p95,
      p99Ms: ss.p99,
      failed: serial.lost + Object.values(serial.errors).reduce((a, b) => a + b, 0),
    };
    log(
      `  ${label} unloaded (one at a time): ${serial.authorised} handshakes p50 ${ss.p50} p95 ${ss.p95} p99 ${ss.p99} ms, failed ${run.unloaded.failed}`,
    );
    for (const rate of rates) {
      const gs = new ProcessSampler(gateway.service.pid).start();
      const bs = new ProcessSampler(broker.service.pid).start();
      const ws = driver.pids.map((pid) => new ProcessSampler(pid).start());
      const result = await driver.step(rate, stepSeconds * 1000, 16_000);
      const step = toLoadStep(
        rate,
        stepSeconds,
        result,
        gs.stop(),
        bs.stop(),
        ws.map((w) => w.stop()),
      );
      run.steps.push(step);
      log(
        `  ${label} ${rate}/s: achieved ${step.achievedPerS}/s p50 ${step.p50Ms} p95 ${step.p95Ms} p99 ${step.p99Ms} ms, lost ${step.lost}, errors ${JSON.stringify(step.errors)}, ${serverName} CPU ${step.gatewayCpuPercent}% RSS ${step.gatewayRssMB} MB, broker CPU ${step.brokerCpuPercent}% RSS ${step.brokerRssMB} MB, generators CPU ${step.generatorCpuPercent}%, load ${step.loadavg1}`,
      );
      const why = saturation(step);
      if (why) {
        run.stoppedBecause = why;
        break;
      }
    }
  } catch (error) {
    run.error = (error as Error).message.slice(0, 2000);
    log(`  ${label}: failed: ${run.error}`);
  } finally {
    await driver?.close();
    await gateway?.service.stop('SIGTERM', 10_000);
    await broker.service.stop();
  }
  const first = run.steps[0];
  run.unloadedP50Ms = run.unloaded && run.unloaded.failed === 0 ? run.unloaded.p50Ms : Number.NaN;
  if (first) run.idleArrivalP50Ms = first.p50Ms;
  for (const s of run.steps) {
    const failed = s.lost + Object.values(s.errors).reduce((a, b) => a + b, 0);
    if (s.p99Ms <= 20 && failed === 0 && s.skipped === 0)
      run.maxRateP99Within20Ms = Math.max(run.maxRateP99Within20Ms, s.offeredPerS);
    run.peakAchievedPerS = Math.max(run.peakAchievedPerS, s.achievedPerS);
    if (s.offeredPerS === 1000) run.p99At1000Ms = s.p99Ms;
  }
  return run;
}

export async function handshakeScenario(options: HandshakeOptions): Promise<BrokerRun[]> {
  const fleet = await createFleet({
    piles: options.piles ?? (options.quick ? 400 : 1000),
    vehicles: options.vehicles ?? (options.quick ? 40 : 100),
  });
  try {
    const runs: BrokerRun[] = [];
    for (const kind of options.brokers) {
      runs.push(await runOnBroker(fleet, kind, options, 'gateway'));
      if (options.barePile ?? true) runs.push(await runOnBroker(fleet, kind, options, 'bare'));
    }
    return runs;
  } finally {
    await removeFleet(fleet);
  }
}
