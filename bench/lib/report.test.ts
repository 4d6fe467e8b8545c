/** The report's verdicts: what counts for the 10,000-pile memory target. */
import { describe, expect, it } from 'vitest';
import type { LoadStep } from '../scenarios/handshake.js';
import { rssOfSteps, type ScaleResult } from '../scenarios/scale.js';
import type { MachineInfo } from './machine.js';
import { checkTargets } from './report.js';

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
