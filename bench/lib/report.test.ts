/** The report's verdicts: what counts for the 10,000-pile memory target, and what a missed target says. */
import { describe, expect, it } from 'vitest';
import type { BrokerRun, LoadStep } from '../scenarios/handshake.js';
import { rssOfSteps, type ScaleResult } from '../scenarios/scale.js';
import type { MachineInfo } from './machine.js';
import { barePileComparison, markdown } from './report-markdown.js';
import { checkTargets } from './targets.js';

function step(
  offeredPerS: number,
  p99Ms: number,
  gatewayRssMB: number,
  achievedPerS = offeredPerS,
): LoadStep {
  return {
    offeredPerS,
    durationS: 6,
    achievedPerS,
    started: offeredPerS * 6,
    authorised: achievedPerS * 6,
    p50Ms: p99Ms / 4,
    p95Ms: p99Ms / 2,
    p99Ms,
    maxMs: p99Ms,
    lost: 0,
    errors: {},
    receiptsMissing: 0,
    skipped: 0,
    schedulerLagMaxMs: 0,
    gatewayCpuPercent: 50,
    gatewayRssMB,
    brokerCpuPercent: 40,
    brokerRssMB: 140,
    generatorCpuPercent: 60,
    loadavg1: 1,
  };
}

function scale(idle: number, steps: LoadStep[], extra: Partial<ScaleResult> = {}): ScaleResult {
  return {
    piles: 10_000,
    connectors: 20_000,
    registryBuildMs: 1,
    gatewayStartupMs: 1000,
    gatewayIdleRssMB: idle,
    brokerRssMB: 150,
    steps,
    peakAchievedPerS: Math.max(...steps.map((s) => s.achievedPerS)),
    loadavg1: 1,
    ...rssOfSteps(idle, steps),
    ...extra,
  };
}

const machineAtStart = {
  at: '',
  cpus: 2,
  cpuModel: 'x',
  loadavg: [0, 0, 0],
  node: 'v20',
  totalMemMB: 1,
} as unknown as MachineInfo;
const memoryTarget = (s: ScaleResult) =>
  checkTargets({ quick: false, machineAtStart, loadavgAtEnd: [0, 0, 0], durationS: 1, scale: s }).find((t) =>
    t.target.includes('piles in one gateway'),
  )!;

describe('10,000 piles in <= 400 MB', () => {
  it('counts idle and the rates the system kept up with; a saturated step is reported, not counted', () => {
    const s = scale(200, [step(1000, 70, 240), step(2000, 150, 340), step(3000, 3000, 520)]);
    expect(s.gatewayServingRssMB).toBe(340);
    expect(s.gatewayPeakRssMB).toBe(520);
    expect(s.servingRatesPerS).toEqual([1000, 2000]);
    expect(s.saturatedAt).toMatchObject({ offeredPerS: 3000, gatewayRssMB: 520 });
    const t = memoryTarget(s);
    expect(t.met).toBe(true);
    expect(t.measured).toBe('340 MB');
    expect(t.note).toContain('at 3000/s, saturated (p99 above 1 s at 3000/s), 520 MB');
  });

  it('is missed when the memory while keeping up is over budget', () => {
    const t = memoryTarget(scale(380, [step(1000, 20, 420)]));
    expect(t.met).toBe(false);
    expect(t.measured).toBe('420 MB');
  });

  it('a step that fell behind the offered rate is saturated too', () => {
    const s = scale(200, [step(1000, 20, 300), step(2000, 500, 600, 1500)]);
    expect(s.gatewayServingRssMB).toBe(300);
    expect(s.saturatedAt?.why).toContain('achieved below 80%');
  });

  it('is not met when no handshake succeeded, however little memory', () => {
    const t = memoryTarget(scale(150, [step(1000, 20, 160, 0)], { peakAchievedPerS: 0 }));
    expect(t.met).toBe(false);
    expect(t.note).toContain('no handshake succeeded');
  });
});

describe('a missed target says by how much and what bounds it', () => {
  const run = (steps: LoadStep[], peak: number): BrokerRun => ({
    broker: 'aedes',
    piles: 1000,
    vehicles: 100,
    workers: 2,
    gatewayStartupMs: 400,
    vehiclesConnectMs: 1000,
    steps,
    unloadedP50Ms: 1.2,
    maxRateP99Within20Ms: 1000,
    peakAchievedPerS: peak,
    p99At1000Ms: steps.find((s) => s.offeredPerS === 1000)?.p99Ms,
    stoppedBecause: 'achieved below 80% of offered at 2500/s',
  });
  const targetsOf = (r: BrokerRun) =>
    checkTargets({ quick: false, machineAtStart, loadavgAtEnd: [0, 0, 0], durationS: 1, handshake: [r] });
  const busy = (s: LoadStep, gateway: number, broker: number, generators: number): LoadStep => ({
    ...s,
    gatewayCpuPercent: gateway,
    brokerCpuPercent: broker,
    generatorCpuPercent: generators,
  });

  it('throughput: the shortfall, and the CPU of each process at the step that saturated', () => {
    const saturated = busy(step(2500, 900, 300, 1945), 63, 54, 66);
    const [throughput] = targetsOf(run([step(1000, 14, 180), saturated], 1945));
    expect(throughput?.met).toBe(false);
    expect(throughput?.note).toContain('short by 55/s (2.8%)');
    expect(throughput?.note).toContain(
      "bound by the machine's 2 cores: at 2500/s gateway 63%, broker 54%, load generators 66% of a core, 183% of 200% together",
    );
  });

  it('latency: the excess, and when the cores were not full it says so', () => {
    const at1000 = busy(step(1000, 27.5, 180), 30, 20, 25);
    const [, p99] = targetsOf(run([at1000, step(2000, 100, 200)], 2000));
    expect(p99?.met).toBe(false);
    expect(p99?.note).toContain('over by 7.50 ms (37.5%)');
    expect(p99?.note).toContain('not bound by CPU (at 1000/s');
  });

  it('a met target carries no shortfall', () => {
    const [throughput, p99] = targetsOf(run([step(1000, 10, 180), step(2500, 900, 300, 2300)], 2300));
    expect(throughput?.met).toBe(true);
    expect(throughput?.note).not.toContain('short by');
    expect(p99?.note).toBeUndefined();
  });

  it('memory over budget: by how much', () => {
    const t = memoryTarget(scale(380, [step(1000, 20, 420)]));
    expect(t.note).toContain('over by 20 MB (5.0%)');
  });
});

describe('the OCPP target', () => {
  const ocpp = (addedP50Ms: number, error?: string) => ({
    stations: 100,
    ocppMs: { count: 500, mean: 4, p50: 3 + addedP50Ms, p95: 5, p99: 9, max: 12 },
    simulatorMs: { count: 500, mean: 3, p50: 3, p95: 4, p99: 6, max: 8 },
    addedP50Ms,
    rssPerStationKB: 60,
    ...(error ? { error } : {}),
  });
  const targetOf = (o: ReturnType<typeof ocpp>) =>
    checkTargets({ quick: false, machineAtStart, loadavgAtEnd: [0, 0, 0], durationS: 1, ocpp: o }).find((t) =>
      t.target.startsWith('OCPP leg'),
    )!;

  it('is met at 2 ms or less and names the figures it rests on', () => {
    const t = targetOf(ocpp(1.2));
    expect(t.met).toBe(true);
    expect(t.note).toContain('p99 9 ms through OCPP at 100 stations');
  });

  it('is missed above 2 ms, by how much; a failed run is no verdict', () => {
    expect(targetOf(ocpp(3.5)).note).toContain('over by 1.50 ms');
    const failed = targetOf(ocpp(Number.NaN, 'station refused'));
    expect(failed.met).toBeUndefined();
    expect(failed.note).toBe('station refused');
  });
});

describe('the bare-pile reference', () => {
  const run = (server: 'gateway' | 'bare', maxRate: number, peak: number, cpu: number): BrokerRun => ({
    broker: 'aedes',
    server,
    piles: 1000,
    vehicles: 100,
    workers: 2,
    gatewayStartupMs: 400,
    vehiclesConnectMs: 1000,
    steps: [{ ...step(1000, 10, 150), gatewayCpuPercent: cpu }, step(3000, 900, 300, 1500)],
    unloadedP50Ms: 1,
    maxRateP99Within20Ms: maxRate,
    peakAchievedPerS: peak,
    p99At1000Ms: 10,
    stoppedBecause: 'achieved below 80% of offered at 3000/s',
  });
  const report = {
    quick: false,
    machineAtStart,
    loadavgAtEnd: [0, 0, 0] as [number, number, number],
    durationS: 1,
    handshake: [run('gateway', 1250, 1900, 54), run('bare', 2000, 2900, 38)],
  };

  it('is no target: only the gateway runs are checked', () => {
    const targets = checkTargets(report);
    expect(targets.filter((t) => t.target.includes('(aedes)'))).toHaveLength(3);
    expect(targets[0]?.measured).toBe('1900/s');
  });

  it('is set beside the gateway on the same broker', () => {
    const text = barePileComparison(report.handshake, report.handshake[1]!);
    expect(text).toContain('gateway 1250/s, bare pile 2000/s');
    expect(text).toContain('peak: gateway 1900/s, bare pile 2900/s');
    expect(text).toContain('CPU at 1,000/s: gateway 54%, bare pile 38% of a core');
    expect(markdown({ ...report, targets: checkTargets(report) })).toContain(
      '### aedes, bare pile (reference)',
    );
  });
});
