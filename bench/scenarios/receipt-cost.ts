/**
 * What signing every receipt in OCMF (PROTOCOL §8a, issue #14) costs the gateway's session throughput. Two copies
 * of the system run side by side (each its fleet, broker, gateway and open-loop load: every handshake ends with a
 * stop and its receipt), one gateway with its piles' signing keys in the keystore and one without, measured over
 * the same window, so that the drifts of a shared machine (which moved single runs by ±10%) fall on both alike;
 * which copy signs alternates from window to window. A saturated gateway is bound by its event loop (one thread;
 * the ECDSA runs in the thread pool beside it), so the event loop's CPU time per completed session sets its
 * throughput: the loss is 1 - (per session unsigned) / (per session signed), the median over the windows. The
 * whole process's CPU is reported beside it.
 */
import { cpuSeconds, loadavg } from '../lib/machine.js';
import { percentile } from '../lib/stats.js';
import {
  createFleet,
  type Fleet,
  type GatewayProcess,
  type RunningBroker,
  removeFleet,
  startBrokerProcess,
  startGatewayProcess,
} from '../lib/system.js';
import { LoadDriver } from '../loadgen/driver.js';

export interface ReceiptCostRound {
  /** the measuring window: the signed and the unsigned gateway of one window ran at the same time */
  window?: number;
  signed: boolean;
  offeredPerS: number;
  sessions: number;
  receiptsMissing: number;
  /** the gateway's event loop (its main thread) */
  eventLoopCpuMsPerSession: number;
  /** the whole gateway process: event loop, thread pool, GC threads */
  gatewayCpuMsPerSession: number;
}

export interface ReceiptCostResult {
  rounds: ReceiptCostRound[];
  /** event-loop CPU per session, medians over the rounds of each kind */
  signedCpuMsPerSession: number;
  unsignedCpuMsPerSession: number;
  /** the session throughput a gateway bound by its event loop loses by signing, percent: the median over the windows */
  throughputLossPercent: number;
  /** the same from the whole process's CPU (the thread pool's signing included) */
  processCpuIncreasePercent: number;
  loadavg1: number;
  error?: string;
}

/** The median, nearest-rank. */
const median = (xs: number[]) => percentile(Float64Array.from(xs).sort(), 0.5);

/** One copy of the system: its fleet and broker stay; a gateway and a load driver are started per window. */
interface SystemCopy {
  fleet: Fleet;
  broker: RunningBroker;
}

/** Runs one window on both copies at once; `signedCopy` says which one signs. */
async function measureWindow(
  copies: SystemCopy[],
  signedCopy: number,
  window: number,
  rate: number,
  stepMs: number,
): Promise<ReceiptCostRound[]> {
  const gateways: GatewayProcess[] = [];
  const drivers: LoadDriver[] = [];
  try {
    for (const [i, copy] of copies.entries())
      gateways.push(
        await startGatewayProcess(copy.fleet, copy.broker.url, { signedReceipts: i === signedCopy }),
      );
    for (const copy of copies) {
      const { driver } = await LoadDriver.start({
        mqttUrl: copy.broker.url,
        vehicles: copy.fleet.vehicles,
        piles: copy.fleet.piles,
        workers: 1,
      });
      drivers.push(driver);
    }
    // warm-up: JIT, SQLite, broker routes
    await Promise.all(drivers.map((d) => d.step(rate, 2000, 4000)));
    const pids = gateways.map((g) => g.service.pid);
    const loop0 = pids.map((pid) => cpuSeconds(pid, pid) ?? 0);
    const process0 = pids.map((pid) => cpuSeconds(pid) ?? 0);
    const steps = await Promise.all(drivers.map((d) => d.step(rate, stepMs, 8000)));
    return steps.map((step, i) => {
      const pid = pids[i]!;
      const sessions = step.authorised - step.receiptsMissing;
      const perSession = (seconds: number) =>
        Math.round(((seconds * 1000) / Math.max(sessions, 1)) * 1000) / 1000;
      return {
        window,
        signed: i === signedCopy,
        offeredPerS: rate,
        sessions,
        receiptsMissing: step.receiptsMissing,
        eventLoopCpuMsPerSession: perSession((cpuSeconds(pid, pid) ?? loop0[i]!) - loop0[i]!),
        gatewayCpuMsPerSession: perSession((cpuSeconds(pid) ?? process0[i]!) - process0[i]!),
      };
    });
  } finally {
    await Promise.all(drivers.map((d) => d.close()));
    await Promise.all(gateways.map((g) => g.service.stop('SIGTERM', 10_000)));
  }
}

export async function receiptCostScenario(options: {
  quick: boolean;
  log?: (line: string) => void;
}): Promise<ReceiptCostResult> {
  const log = options.log ?? (() => {});
  // per copy: together the machine carries twice this, about the load of the handshake scenario's busy steps
  const rate = options.quick ? 150 : 400;
  const stepMs = options.quick ? 4000 : 8000;
  const windows = options.quick ? 2 : 6;
  const result: ReceiptCostResult = {
    rounds: [],
    signedCpuMsPerSession: Number.NaN,
    unsignedCpuMsPerSession: Number.NaN,
    throughputLossPercent: Number.NaN,
    processCpuIncreasePercent: Number.NaN,
    loadavg1: 0,
  };
  const copies: SystemCopy[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const fleet = await createFleet({ piles: 100, vehicles: 50 });
      try {
        copies.push({ fleet, broker: await startBrokerProcess(fleet, 'aedes') });
      } catch (error) {
        await removeFleet(fleet);
        throw error;
      }
    }
    const losses: number[] = [];
    const increases: number[] = [];
    for (let window = 0; window < windows; window++) {
      const rounds = await measureWindow(copies, window % 2, window, rate, stepMs);
      result.rounds.push(...rounds);
      for (const r of rounds)
        log(
          `  ${r.signed ? 'signed  ' : 'unsigned'} ${rate}/s: ${r.sessions} sessions, ${r.receiptsMissing} receipts missing, gateway event loop ${r.eventLoopCpuMsPerSession} ms CPU per session (process ${r.gatewayCpuMsPerSession})`,
        );
      const signed = rounds.find((r) => r.signed)!;
      const unsigned = rounds.find((r) => !r.signed)!;
      losses.push(1 - unsigned.eventLoopCpuMsPerSession / signed.eventLoopCpuMsPerSession);
      increases.push(signed.gatewayCpuMsPerSession / unsigned.gatewayCpuMsPerSession - 1);
    }
    const of = (signed: boolean) =>
      median(result.rounds.filter((r) => r.signed === signed).map((r) => r.eventLoopCpuMsPerSession));
    result.signedCpuMsPerSession = of(true);
    result.unsignedCpuMsPerSession = of(false);
    result.throughputLossPercent = Math.round(median(losses) * 1000) / 10;
    result.processCpuIncreasePercent = Math.round(median(increases) * 1000) / 10;
    log(
      `  signing costs ${result.throughputLossPercent}% of the gateway's session throughput (event loop ${result.unsignedCpuMsPerSession} → ${result.signedCpuMsPerSession} ms CPU per session); the whole process's CPU per session +${result.processCpuIncreasePercent}%`,
    );
  } catch (error) {
    result.error = (error as Error).message.slice(0, 2000);
    log(`  failed: ${result.error}`);
  } finally {
    for (const copy of copies) await copy.broker.service.stop();
    result.loadavg1 = loadavg()[0];
    for (const copy of copies) await removeFleet(copy.fleet);
  }
  return result;
}
