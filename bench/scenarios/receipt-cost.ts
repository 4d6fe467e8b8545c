/**
 * What signing every receipt in OCMF (PROTOCOL §8a, issue #14) costs the gateway's session throughput: the same
 * gateway, broker and open-loop load (each handshake ends with a stop and its receipt) with the piles' signing
 * keys in the keystore and without them, alternating so that drifts of a shared machine fall on both. A saturated
 * gateway is bound by its event loop (one thread; the ECDSA runs in the thread pool beside it), so the event
 * loop's CPU time per completed session sets its throughput: the loss is 1 - (per session unsigned) / (per
 * session signed), the median over back-to-back pairs of runs. The whole process's CPU is reported beside it.
 */
import { cpuSeconds, loadavg, ProcessSampler } from '../lib/machine.js';
import { percentile } from '../lib/stats.js';
import { createFleet, removeFleet, startBrokerProcess, startGatewayProcess } from '../lib/system.js';
import { LoadDriver } from '../loadgen/driver.js';

export interface ReceiptCostRound {
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
  /** the session throughput a gateway bound by its event loop loses by signing, percent: the median over the pairs */
  throughputLossPercent: number;
  /** the same from the whole process's CPU (the thread pool's signing included) */
  processCpuIncreasePercent: number;
  loadavg1: number;
  error?: string;
}

/** The median, nearest-rank (the rounds and pairs come in odd counts). */
const median = (xs: number[]) => percentile(Float64Array.from(xs).sort(), 0.5);
export async function receiptCostScenario(options: {
  quick: boolean;
  log?: (line: string) => void;
}): Promise<ReceiptCostResult> {
  const log = options.log ?? (() => {});
  const rate = options.quick ? 200 : 300;
  const stepMs = options.quick ? 4000 : 8000;
  const pairs = options.quick ? 1 : 5;
  const fleet = await createFleet({ piles: 200, vehicles: 100 });
  const result: ReceiptCostResult = {
    rounds: [],
    signedCpuMsPerSession: Number.NaN,
    unsignedCpuMsPerSession: Number.NaN,
    throughputLossPercent: Number.NaN,
    processCpuIncreasePercent: Number.NaN,
    loadavg1: 0,
  };
  const broker = await startBrokerProcess(fleet, 'aedes');
  try {
    for (let round = 0; round < pairs * 2; round++) {
      const signed = round % 2 === 0;
      const gateway = await startGatewayProcess(fleet, broker.url, { signedReceipts: signed });
      const { driver } = await LoadDriver.start({
        mqttUrl: broker.url,
        vehicles: fleet.vehicles,
        piles: fleet.piles,
        workers: 2,
      });
      try {
        await driver.step(rate, 2000, 4000); // warm-up: JIT, SQLite, broker routes
        const pid = gateway.service.pid;
        const sampler = new ProcessSampler(pid).start();
        const loop0 = cpuSeconds(pid, pid) ?? 0;
        const t0 = performance.now();
        const step = await driver.step(rate, stepMs, 8000);
        const seconds = (performance.now() - t0) / 1000;
        const loopMs = ((cpuSeconds(pid, pid) ?? loop0) - loop0) * 1000;
        const usage = sampler.stop();
        const sessions = step.authorised - step.receiptsMissing;
        const cpuMs = (usage.cpuPercent / 100) * seconds * 1000;
        const perSession = (ms: number) => Math.round((ms / Math.max(sessions, 1)) * 1000) / 1000;
        const r: ReceiptCostRound = {
          signed,
          offeredPerS: rate,
          sessions,
          receiptsMissing: step.receiptsMissing,
          eventLoopCpuMsPerSession: perSession(loopMs),
          gatewayCpuMsPerSession: perSession(cpuMs),
        };
        result.rounds.push(r);
        log(
          `  ${signed ? 'signed  ' : 'unsigned'} ${rate}/s: ${sessions} sessions, ${r.receiptsMissing} receipts missing, gateway event loop ${r.eventLoopCpuMsPerSession} ms CPU per session (process ${r.gatewayCpuMsPerSession})`,
        );
      } finally {
        await driver.close();
        await gateway.service.stop('SIGTERM', 10_000);
      }
    }
    const of = (signed: boolean) =>
      median(result.rounds.filter((r) => r.signed === signed).map((r) => r.eventLoopCpuMsPerSession));
    result.signedCpuMsPerSession = of(true);
    result.unsignedCpuMsPerSession = of(false);
    const pairwise = (per: (r: ReceiptCostRound) => number, change: (s: number, u: number) => number) => {
      const changes = [];
      for (let i = 0; i + 1 < result.rounds.length; i += 2)
        changes.push(change(per(result.rounds[i]!), per(result.rounds[i + 1]!)));
      return Math.round(median(changes) * 1000) / 10;
    };
    result.throughputLossPercent = pairwise(
      (r) => r.eventLoopCpuMsPerSession,
      (s, u) => 1 - u / s,
    );
    result.processCpuIncreasePercent = pairwise(
      (r) => r.gatewayCpuMsPerSession,
      (s, u) => s / u - 1,
    );
    log(
      `  signing costs ${result.throughputLossPercent}% of the gateway's session throughput (event loop ${result.unsignedCpuMsPerSession} → ${result.signedCpuMsPerSession} ms CPU per session); the whole process's CPU per session +${result.processCpuIncreasePercent}%`,
    );
  } catch (error) {
    result.error = (error as Error).message.slice(0, 2000);
    log(`  failed: ${result.error}`);
  } finally {
    await broker.service.stop();
    result.loadavg1 = loadavg()[0];
    await removeFleet(fleet);
  }
  return result;
}
