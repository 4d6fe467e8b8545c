/**
 * What the machine was doing while a number was measured: load average, CPU count and model, and per-process
 * CPU and RSS read from /proc (Linux). The machine may be shared, so every result carries the load average.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  at: string;
  node: string;
  cpus: number;
  cpuModel: string;
  totalMemMB: number;
  loadavg: [number, number, number];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    loadavg: loadavg(),
  };
}

export function loadavg(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = os.loadavg();
  return [round(a), round(b), round(c)];
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used, or undefined when it is gone. */
export function cpuSeconds(pid: number, thread?: number): number | undefined {
  try {
    // one thread's: /proc/{pid}/task/{tid}/stat (a Node process's event loop is the thread whose id is the pid)
    const stat = readFileSync(
      thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
      'utf8',
    );
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Resident set size in MB, or undefined when the process is gone. */
export function rssMB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export interface ProcessUsage {
  /** average CPU over the window, in percent of one core */
  cpuPercent: number;
  rssMaxMB: number;
  rssEndMB: number;
}

/** Samples a process's RSS every `everyMs` and its CPU over the window between start() and stop(). */
export class ProcessSampler {
  private cpu0 = 0;
  private t0 = 0;
  private rssMax = 0;
  private timer?: ReturnType<typeof setInterval>;

  constructor(
    readonly pid: number,
    private readonly everyMs = 250,
  ) {}

  start(): this {
    this.cpu0 = cpuSeconds(this.pid) ?? 0;
    this.t0 = performance.now();
    this.rssMax = rssMB(this.pid) ?? 0;
    this.timer = setInterval(() => {
      this.rssMax = Math.max(this.rssMax, rssMB(this.pid) ?? 0);
    }, this.everyMs);
    this.timer.unref();
    return this;
  }

  stop(): ProcessUsage {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.t0) / 1000;
    const cpu = (cpuSeconds(this.pid) ?? this.cpu0) - this.cpu0;
    const rssEnd = rssMB(this.pid) ?? 0;
    return {
      cpuPercent: round((cpu / Math.max(seconds, 1e-3)) * 100),
      rssMaxMB: Math.max(this.rssMax, rssEnd),
      rssEndMB: rssEnd,
    };
  }
}
