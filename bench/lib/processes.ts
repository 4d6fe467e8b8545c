/**
 * Child processes for the benchmarks: the broker, the gateway, the cloud and Mosquitto run as real processes
 * (node/child-process.ts). Node services run as an operator runs them: built (`npm run build:services`) and
 * started with plain `node` and the services' flags. Before `useBuiltServices()` (or if asked for) they run from
 * source as `node --import tsx <file>`; either way the pid we sample and signal is the service itself.
 */
import { ChildService, type NodeServiceOptions } from '../../node/child-process.js';
import { buildServices, SERVICE_NODE_FLAGS, type ServiceEntry } from '../../scripts/build-services.js';
import type { ServiceLaunch } from '../../scripts/system.js';

export { ChildService, freePort, ROOT, waitForPort } from '../../node/child-process.js';

let builtServices: Map<ServiceEntry, string> | undefined;

/** Builds the services once; from then on `benchService` runs the built files. */
export async function useBuiltServices(): Promise<void> {
  builtServices ??= await buildServices();
}

export type ServiceOptions = Pick<NodeServiceOptions, 'nodeArgs' | 'env' | 'cwd'>;

/** How scripts/system.ts launches a service for the bench: built once built, with the bench's extra flags. */
export function benchLaunch(options: ServiceOptions = {}): ServiceLaunch {
  return {
    ...(builtServices ? { built: builtServices } : {}),
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.env ? { env: options.env } : {}),
  };
}

/** A Node service of the repository with the services' flags: its built file once built, else its source. */
export function benchService(
  name: string,
  file: ServiceEntry | string,
  args: string[],
  options: ServiceOptions = {},
): ChildService {
  const builtFile = builtServices?.get(file as ServiceEntry);
  return ChildService.node(name, file, args, {
    ...options,
    nodeArgs: [...SERVICE_NODE_FLAGS, ...(options.nodeArgs ?? [])],
    ...(builtFile ? { builtFile } : {}),
  });
}
