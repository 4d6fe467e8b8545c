/**
 * `npm run soak [-- --minutes 30 --broker-every 300 --gateway-every 420 --rate 2]`: steady charging sessions
 * through the real broker and gateway processes while the broker is restarted every 5 minutes and the gateway
 * is killed (SIGKILL) every 7 minutes. A session is a driver's whole attempt: authenticate (retrying with a new
 * sid after a failed step, as PROTOCOL §6 allows), charge for a few seconds, stop, and get the signed receipt.
 * It reports sessions started, completed (verified receipt), refused (a definite, MACed or advisory answer) and
 * lost (neither by the deadline). Lost must be 0. Not part of CI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadavg } from './lib/machine.js';
import { ROOT, useBuiltServices } from './lib/processes.js';
import { createFleet, removeFleet, startBrokerProcess, startGatewayProcess } from './lib/system.js';
import { type SoakCounts, SoakFleet } from './soak-vehicles.js';

const number = (min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`must be a number >= ${min}`);
  return n;
};

const program = new Command('npm run soak --')
  .description(
    '30 minutes of steady sessions with broker restarts and gateway kills; lost sessions must be 0',
  )
  .option('--minutes <n>', 'how long to run', number(0.1), 30)
  .option('--broker-every <s>', 'restart the broker every s seconds', number(5), 300)
  .option('--gateway-every <s>', 'kill the gateway (SIGKILL) every s seconds', number(5), 420)
  .option('--rate <n>', 'new sessions per second', number(0.1), 2)
  .option('--hold <s>', 'seconds each session charges', number(0), 3)
  .action(
    async (o: { minutes: number; brokerEvery: number; gatewayEvery: number; rate: number; hold: number }) => {
      await useBuiltServices();
      const fleet = await createFleet({ piles: 50, vehicles: 20 });
      let broker = await startBrokerProcess(fleet, 'aedes');
      const port = broker.mqttPort;
      let gateway = await startGatewayProcess(fleet, broker.url);
      const vehicles = await SoakFleet.connect(fleet, broker.url, o.hold * 1000);
      const events: string[] = [];
      const note = (e: string) => {
        const line = `${new Date().toISOString()} ${e}`;
        events.push(line);
        console.log(line);
      };
      note(
        `soak: ${o.minutes} min, ${o.rate} sessions/s, broker restart every ${o.brokerEvery} s, gateway kill every ${o.gatewayEvery} s`,
      );
      const endAt = Date.now() + o.minutes * 60_000;
      let chaos = Promise.resolve();
      const brokerTimer = setInterval(() => {
        chaos = chaos.then(async () => {
          note('restarting the broker');
          await broker.service.stop('SIGTERM');
          await new Promise((r) => setTimeout(r, 1000));
          broker = await startBrokerProcess(fleet, 'aedes', port);
          note('broker back');
        });
      }, o.brokerEvery * 1000);
      const gatewayTimer = setInterval(() => {
        chaos = chaos.then(async () => {
          note('killing the gateway (SIGKILL)');
          await gateway.service.stop('SIGKILL');
          await new Promise((r) => setTimeout(r, 1000));
          gateway = await startGatewayProcess(fleet, broker.url);
          note(`gateway back in ${gateway.startupMs} ms`);
        });
      }, o.gatewayEvery * 1000);
      const progress = setInterval(() => note(`progress ${JSON.stringify(vehicles.counts)}`), 30_000);
      while (Date.now() < endAt) {
        vehicles.startSession();
        await new Promise((r) => setTimeout(r, 1000 / o.rate));
      }
      clearInterval(brokerTimer);
      clearInterval(gatewayTimer);
      clearInterval(progress);
      await chaos;
      note('load stopped; waiting for open sessions to finish');
      await vehicles.drain(90_000);
      const counts: SoakCounts = vehicles.counts;
      note(`result ${JSON.stringify(counts)}`);
      await vehicles.close();
      await gateway.service.stop('SIGTERM', 10_000);
      await broker.service.stop();
      await removeFleet(fleet);
      const result = { ...o, counts, loadavg: loadavg(), events, lostSessions: vehicles.lostDetails };
      writeFileSync(join(ROOT, 'bench', 'results', 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
      console.log(
        `\nsessions started ${counts.started}, completed ${counts.completed}, refused ${counts.refused}, lost ${counts.lost}` +
          ` (handshake retries ${counts.retries}, stop resends ${counts.stopResends}); wrote bench/results/soak.json`,
      );
      process.exit(counts.lost === 0 ? 0 : 1);
    },
  );

program.parseAsync().catch((error: unknown) => {
  console.error(`soak: ${(error as Error).message}`);
  process.exit(1);
});
