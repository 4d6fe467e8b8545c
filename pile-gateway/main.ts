#!/usr/bin/env -S npx tsx
/** `pile-gateway <config.json>`: runs a gateway until SIGINT/SIGTERM. */
import { runService } from '../node/service-runner.js';
import { GatewayConfigError } from './config.js';
import { startGateway } from './gateway.js';

runService({
  name: 'pile-gateway',
  description: 'Serve the charging piles of one gateway config over MQTT',
  configure: (program) =>
    program.argument('<config>', 'gateway config file (written by `evauth-cloud gateway export`)'),
  isUsageError: (error) => error instanceof GatewayConfigError,
  // the gateway logs through its own batched logger (node/logger.ts)
  start: (_opts, [configPath]) => startGateway(configPath!),
});
