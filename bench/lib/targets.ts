/** The issue's targets checked against a run; a missed one says by how much and what bounded it. */
import { type LoadStep, stepAt } from '../scenarios/handshake.js';
import { type BenchReport, fmt, type TargetCheck } from './report.js';

/** A target: at least (`min`) or at most (`max`) this value. */
type Goal = { min: number } | { max: number };

/** By how much a measurement misses its goal, e.g. "short by 55/s (2.8%)". */
export function shortfall(measured: number, goal: Goal, unit: string): string {
  const limit = 'min' in goal ? goal.min : goal.max;
  const gap = Math.abs(measured - limit);
  const percent = limit === 0 ? '' : ` (${((gap / limit) * 100).toFixed(1)}%)`;
  return `${'min' in goal ? 'short' : 'over'} by ${fmt(Math.round(gap * 100) / 100, unit)}${percent}`;
}

/**
 * What bounded a load step, from the CPU of each process: on a machine whose cores are nearly all taken by the
 * gateway, the broker and the load generators together, it is the machine; otherwise something else (a queue,
 * a lock, I/O) that a profile of the gateway (`--profile`) should show.
 */
export function boundAt(step: LoadStep, cores: number): string {
  const generators = step.generatorCpuPercent ?? 0;
  const total = step.gatewayCpuPercent + step.brokerCpuPercent + generators;
  const capacity = cores * 100;
  const split = `gateway ${fmt(step.gatewayCpuPercent)}%, broker ${fmt(step.brokerCpuPercent)}%, load generators ${fmt(generators)}% of a core`;
  return total >= capacity * 0.85
    ? `bound by the machine's ${cores} cores: at ${step.offeredPerS}/s ${split}, ${fmt(Math.round(total))}% of ${capacity}% together`
    : `not bound by CPU (at ${step.offeredPerS}/s ${split}, ${fmt(Math.round(total))}% of ${capacity}%): see a gateway profile (--profile)`;
}

function check(
  target: string,
  measured: number | undefined,
  goal: Goal,
  unit: string,
  note?: string,
  bound?: string,
): TargetCheck {
  const c: TargetCheck = { target, measured: fmt(measured, unit) };
  if (measured !== undefined && Number.isFinite(measured))
    c.met = 'min' in goal ? measured >= goal.min : measured <= goal.max;
  // A missed target says by how much and, where the run knows it, what bounded it.
  const notes = [note, ...(c.met === false ? [shortfall(measured!, goal, unit), bound] : [])].filter(Boolean);
  if (notes.length) c.note = notes.join('; ');
  return c;
}

export function checkTargets(r: Omit<BenchReport, 'targets'>): TargetCheck[] {
  const out: TargetCheck[] = [];
  const cores = r.machineAtStart.cpus;
  // The targets are the gateway's; the bare pile's runs are its reference.
  for (const run of (r.handshake ?? []).filter((x) => x.server !== 'bare')) {
    const b = run.broker;
    const last = run.steps.at(-1);
    const at1000 = stepAt(run, 1000);
    out.push(
      check(
        `>= 2,000 handshakes/s per gateway (${b})`,
        run.peakAchievedPerS,
        { min: 2000 },
        '/s',
        run.stoppedBecause,
        last && boundAt(last, cores),
      ),
      run.p99At1000Ms === undefined && run.steps.length > 0 && !run.error
        ? {
            target: `p99 <= 20 ms at 1,000 handshakes/s (${b})`,
            measured: 'not reached',
            met: false,
            note: `saturated before 1,000/s: ${run.stoppedBecause}`,
          }
        : check(
            `p99 <= 20 ms at 1,000 handshakes/s (${b})`,
            run.p99At1000Ms,
            { max: 20 },
            ' ms',
            undefined,
            at1000 && boundAt(at1000, cores),
          ),
      check(
        `p50 <= 3 ms unloaded (${b})`,
        run.unloadedP50Ms,
        { max: 3 },
        ' ms',
        `one handshake at a time; arriving every 50 ms at idle processes (${run.steps[0]?.offeredPerS ?? '?'}/s): p50 ${run.idleArrivalP50Ms ?? '?'} ms`,
      ),
    );
  }
  if (r.scale) {
    const s = r.scale;
    const c = check(
      `${s.piles.toLocaleString('en')} piles in one gateway in <= 400 MB RSS`,
      s.gatewayServingRssMB || undefined,
      { max: 400 },
      ' MB',
      s.subscribeProblem ??
        s.error ??
        `highest of idle (${s.gatewayIdleRssMB} MB) and under load the system kept up with (${s.servingRatesPerS.map((rate) => `${rate}/s`).join(', ') || 'none'})${s.saturatedAt ? `; at ${s.saturatedAt.offeredPerS}/s, saturated (${s.saturatedAt.why}), ${s.saturatedAt.gatewayRssMB} MB: the backlog's memory on top of the piles'` : ''}`,
    );
    // Memory within budget means nothing if the gateway cannot serve the piles.
    if (s.subscribeProblem || s.peakAchievedPerS === 0) {
      c.met = false;
      c.note = `RSS within budget, but no handshake succeeded: ${s.subscribeProblem ?? s.error ?? 'see the scale table'}`;
    }
    out.push(c);
  }
  if (r.issuance)
    out.push(
      check(
        '>= 5,000 credentials issued per second',
        r.issuance.issuedPerS,
        { min: 5000 },
        '/s',
        r.issuance.error,
      ),
    );
  if (r.receiptCost)
    out.push(
      check(
        'signing every receipt (OCMF) costs <= 5% of the gateway session throughput',
        r.receiptCost.throughputLossPercent,
        { max: 5 },
        '%',
        r.receiptCost.error,
      ),
    );
  if (r.logins) {
    const l = r.logins;
    const failed =
      l.genuineFailedDuringFlood > 0 ? `${l.genuineFailedDuringFlood} genuine logins failed` : undefined;
    const c = check(
      `genuine login <= 2 s during a ${l.floodPerS}/s bad-login flood`,
      l.genuineDuringFloodMs.max,
      { max: 2000 },
      ' ms (max)',
      l.error ?? failed,
    );
    if (failed) c.met = false;
    out.push(c);
  }
  if (r.headUnit) {
    const h = r.headUnit;
    out.push(
      check('head unit initial JS <= 120 KB gzip', h.initialGzipKB, { max: 120 }, ' KB', h.sizeError),
      check('operator page JS <= 16 KB gzip', h.operatorGzipKB, { max: 16 }, ' KB', h.sizeError),
      check(
        'head unit tap to authorised <= 300 ms',
        h.tapToAuthorisedMs?.p50,
        { max: 300 },
        ' ms (median)',
        h.tapError,
      ),
    );
  }
  if (r.ocpp) {
    const o = r.ocpp;
    out.push(
      check(
        'OCPP leg adds <= 2 ms p50 unloaded',
        o.error ? undefined : o.addedP50Ms,
        { max: 2 },
        ' ms',
        o.error ??
          `tap to energised p50 ${fmt(o.ocppMs.p50, ' ms')}, p99 ${fmt(o.ocppMs.p99, ' ms')} through OCPP at ${o.stations} stations; simulator p50 ${fmt(o.simulatorMs.p50, ' ms')}; RSS per connected station <= ${fmt(o.rssPerStationKB, ' KB')}`,
      ),
    );
  }
  return out;
}
