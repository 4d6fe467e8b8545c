/** A repository entry point (broker/main.ts, cloud/main.ts) run as a real child process, as an operator runs it. */
import { ChildService, type ChildServiceOptions } from '../../node/child-process.js';

/** Starts `node --import tsx <script> ...args` with a clean EVAUTH_* environment; read its logs on the result. */
export async function startEntryPoint(
  script: string,
  args: string[],
  options: ChildServiceOptions = {},
): Promise<ChildService> {
  const service = ChildService.node(script, script, args, { ...options, cleanEvauthEnv: true });
  await service.start();
  return service;
}
