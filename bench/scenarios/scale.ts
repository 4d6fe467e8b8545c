/** Scenario 2: 10,000 piles in one gateway process: RSS, start-up time and handshakes per second. */

import { loadavg, ProcessSampler, rssMB } from '../lib/machine.js';
import { createFleet, removeFleet, startBrokerProcess, startGatewayProcess } from '../lib/system.js';
import { LoadDriver } from '../loadgen/driver.js';
import { type LoadStep, saturation, toLoadStep } from './handshake.js';

export interface ScaleResult {
  piles: number;
  connectors: number;
  registryBuildMs: number;
  gatewayStartupMs: number;
  gatewayIdleRssMB: number;
  /** highest RSS idle or in any step, saturated ones included */
  gatewayPeakRssMB: number;
  /** highest RSS idle or in a step the system kept up with (not saturated as the handshake scenario defines it) */
  gatewayServingRssMB: number;
  /** the rates of the steps it kept up with */
  servingRatesPerS: number[];
  /** the first saturated step, if any: why, and the RSS there (the backlog's, on top of the piles') */
  saturatedAt?: { offeredPerS: number; why: string; gatewayRssMB: number };
  brokerRssMB: number;
  steps: LoadStep[];
  peakAchievedPerS: number;
  loadavg1: number;
  error?: string;
  /** set when the gateway's subscriptions did not take (then no handshake can succeed) */
  subscribeProblem?: string;
}

/** RSS over the steps: overall, and over idle and the steps the system kept up with (not saturated). */
export function rssOfSteps(
  idleRssMB: number,
  steps: LoadStep[],
): Pick<ScaleResult, 'gatewayPeakRssMB' | 'gatewayServingRssMB' | 'servingRatesPerS' | 'saturatedAt'> {
  const verdicts = steps.map((step) => ({ step, why: saturation(step) }));
  const serving = verdicts.filter((v) => v.why === undefined).map((v) => v.step);
  const saturated = verdicts.find((v) => v.why !== undefined);
  return {
    gatewayPeakRssMB: Math.max(idleRssMB, ...steps.map((s) => s.gatewayRssMB)),
    gatewayServingRssMB: Math.max(idleRssMB, ...serving.map((s) => s.gatewayRssMB)),
    servingRatesPerS: serving.map((s) => s.offeredPerS),
    ...(saturated
      ? {
          saturatedAt: {
            offeredPerS: saturated.step.offeredPerS,
            why: saturated.why!,
            gatewayRssMB: saturated.step.gatewayRssMB,
          },
        }
      : {}),
  };
}

export async function scaleScenario(options: {
  quick: boolean;
  piles?: number;
  rates?: number[];
  log?: (line: string) => void;
}): Promise<ScaleResult> {
  const log = options.log ?? (() => {});
  const piles = options.piles ?? (options.quick ? 10_000 : 10_000);
  const t0 = performance.now();
  const fleet = await createFleet({ piles, vehicles: options.quick ? 40 : 100 });
  const result: ScaleResult = {
    piles,
    connectors: piles * 2,
    registryBuildMs: Math.round(performance.now() - t0),
    gatewayStartupMs: 0,
    gatewayIdleRssMB: 0,
    gatewayPeakRssMB: 0,
    gatewayServingRssMB: 0,
    servingRatesPerS: [],
    brokerRssMB: 0,
    steps: [],
    peakAchievedPerS: 0,
    loadavg1: loadavg()[0],
  };
  const broker = await startBrokerProcess(fleet, 'aedes');
  let driver: LoadDriver | undefined;
  let gateway: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
  try {
    gateway = await startGatewayProcess(fleet, broker.url);
    result.gatewayStartupMs = gateway.startupMs;
    await new Promise((r) => setTimeout(r, 1000)); // let start-up garbage settle
    result.gatewayIdleRssMB = rssMB(gateway.service.pid) ?? 0;
    // The gateway says "serving piles" even when the broker refused its subscriptions; look for that here.
    const refused = /subscribe failed|refused subscriptions/.exec(gateway.service.output);
    if (refused || /packet over the size limit/.test(broker.service.output)) {
      result.subscribeProblem = `gateway log: ${refused?.[0] ?? 'n/a'}; broker log: ${/packet over the size limit/.test(broker.service.output) ? 'SUBSCRIBE over the 64 KiB packet limit, connection closed' : 'n/a'}`;
    }
    log(
      `  ${piles} piles: registry ${result.registryBuildMs} ms, gateway up in ${gateway.startupMs} ms, RSS ${result.gatewayIdleRssMB} MB`,
    );
    driver = (
      await LoadDriver.start({
        mqttUrl: broker.url,
        vehicles: fleet.vehicles,
        piles: fleet.piles,
        workers: 2,
      })
    ).driver;
    await driver.step(50, 1000, 3000);
    const seconds = options.quick ? 2 : 6;
    for (const rate of options.rates ?? (options.quick ? [2000] : [1000, 2000, 3000])) {
      const gs = new ProcessSampler(gateway.service.pid).start();
      const bs = new ProcessSampler(broker.service.pid).start();
      const r = await driver.step(rate, seconds * 1000, 16_000);
      const step = toLoadStep(rate, seconds, r, gs.stop(), bs.stop());
      result.steps.push(step);
      log(
        `  ${piles} piles ${rate}/s: achieved ${step.achievedPerS}/s p99 ${step.p99Ms} ms, lost ${step.lost}, gateway CPU ${step.gatewayCpuPercent}% RSS ${step.gatewayRssMB} MB, broker CPU ${step.brokerCpuPercent}%`,
      );
    }
    Object.assign(result, rssOfSteps(result.gatewayIdleRssMB, result.steps));
    result.brokerRssMB = rssMB(broker.service.pid) ?? 0;
    result.peakAchievedPerS = Math.max(0, ...result.steps.map((s) => s.achievedPerS));
  } catch (error) {
    result.error = (error as Error).message.slice(0, 2000);
    log(`  scale: failed: ${result.error}`);
  } finally {
    await driver?.close();
    await gateway?.service.stop('SIGTERM', 15_000);
    await broker.service.stop();
    await removeFleet(fleet);
  }
  result.loadavg1 = loadavg()[0];
  return result;
}
