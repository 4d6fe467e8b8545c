#!/usr/bin/env -S npx tsx
/** `pile-gateway <config.json>`: runs a gateway until SIGINT/SIGTERM. */
import { Command } from 'commander';
import { GatewayConfigError } from './config.js';
import { startGateway } from './gateway.js';

const program = new Command()
  .name('pile-gateway')
  .description('Serve the charging piles of one gateway config over MQTT')
  .argument('<config>', 'gateway config file (written by `evauth-cloud gateway export`)')
  .action(async (configPath: string) => {
    let gateway: Awaited<ReturnType<typeof startGateway>>;
    try {
      gateway = await startGateway(configPath);
    } catch (error) {
      if (error instanceof GatewayConfigError) {
        console.error(`pile-gateway: ${error.message}`);
        process.exit(2);
      }
      throw error;
    }
    const stop = () => {
      void gateway.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`pile-gateway: ${(error as Error).message}`);
  process.exit(1);
});
