/** The IPC messages between the load driver (parent) and its vehicle worker processes. */

export interface WorkerVehicle {
  vid: string;
  username: string;
  password: string;
}

export interface WorkerPile {
  pid: string;
  /** b64u root key: the worker plays the cloud's part and issues its own tickets (no cloud in the hot path) */
  rootKey: string;
  keyOffset: number;
  connectors: number[];
}

export interface WorkerConfig {
  mqttUrl: string;
  vehicles: WorkerVehicle[];
  piles: WorkerPile[];
  /** a vehicle gives up on a handshake step after this long (PROTOCOL §6: 5 s) */
  stepTimeoutMs: number;
  /** vehicle MQTT reconnect period; the soak restarts the broker under the workers */
  reconnectPeriodMs: number;
}

export interface StepRequest {
  type: 'step';
  /** offered handshakes per second from this worker */
  rate: number;
  durationMs: number;
  /** how long to wait after the last start for answers of this step */
  drainMs: number;
}

/** Handshakes one at a time: each starts when the previous one's receipt (or failure) is in. */
export interface SerialRequest {
  type: 'serial';
  count: number;
}

export type ToWorker =
  | { type: 'init'; config: WorkerConfig }
  | StepRequest
  | SerialRequest
  | { type: 'exit' };

export interface StepResult {
  /** handshakes the schedule asked for */
  offered: number;
  /** handshakes actually started (a start needs a free connector) */
  started: number;
  /** verified auth.result */
  authorised: number;
  /** definite failures (auth.error or a failed check), by code */
  errors: Record<string, number>;
  /** no answer within the step timeout: lost in the system */
  lost: number;
  /** authorised, stop sent, but no verified receipt by the end of the drain */
  receiptsMissing: number;
  /** starts skipped because every connector of this worker was busy (generator-side saturation) */
  skipped: number;
  /** latency from the scheduled send time to the verified auth.result, ms */
  latenciesMs: number[];
  /** worst lag of the scheduler behind its schedule, ms */
  schedulerLagMaxMs: number;
}

export function emptyStepResult(): StepResult {
  return {
    offered: 0,
    started: 0,
    authorised: 0,
    errors: {},
    lost: 0,
    receiptsMissing: 0,
    skipped: 0,
    latenciesMs: [],
    schedulerLagMaxMs: 0,
  };
}

export type FromWorker =
  | { type: 'ready'; connectMs: number }
  | { type: 'stepDone'; result: StepResult }
  | { type: 'error'; message: string };
