/** The markdown page of a run (bench/results/report.md): the targets, then a section per scenario. */
import { type BrokerRun, runLabel, stepAt } from '../scenarios/handshake.js';
import { type BenchReport, fmt } from './report.js';
import { clusterSection, table } from './report-tables.js';

/** One sentence setting a bare-pile run beside the gateway's on the same broker. */
export function barePileComparison(runs: BrokerRun[], bare: BrokerRun): string {
  const gateway = runs.find((x) => x.broker === bare.broker && x.server !== 'bare');
  const intro =
    'The same load against the bare pile (`bench/loadgen/bare-pile.ts`): the shared handshake state machine and session signing in one process, with no session database, status, logs or metrics — what the protocol alone costs here.';
  if (!gateway) return intro;
  const cpuAt1000 = (x: BrokerRun) => stepAt(x, 1000)?.gatewayCpuPercent;
  return `${intro} Highest rate with p99 <= 20 ms: gateway ${gateway.maxRateP99Within20Ms || 'none'}/s, bare pile ${bare.maxRateP99Within20Ms || 'none'}/s; peak: gateway ${gateway.peakAchievedPerS}/s, bare pile ${bare.peakAchievedPerS}/s; CPU at 1,000/s: gateway ${fmt(cpuAt1000(gateway))}%, bare pile ${fmt(cpuAt1000(bare))}% of a core.`;
}

export function markdown(r: BenchReport): string {
  const m = r.machineAtStart;
  const lines: string[] = [
    '# evauth benchmark results',
    '',
    `Run ${m.at}${r.quick ? ' (quick mode: smaller counts)' : ''}, ${r.durationS} s. Node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.totalMemMB} MB.`,
    `Load average at start ${m.loadavg.join(' / ')}, at end ${r.loadavgAtEnd.join(' / ')} (1/5/15 min). Everything — broker, gateway, load generator — shares this machine; a load average above the core count means the numbers are pessimistic.`,
    '',
    '## Targets',
    '',
    table(
      ['target', 'measured', 'met', 'note'],
      r.targets.map((t) => [
        t.target,
        t.measured,
        t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**',
        t.note ?? '',
      ]),
    ),
  ];
  if (r.handshake?.length) {
    lines.push(
      '',
      '## 1. Handshake latency and throughput',
      '',
      'Open-loop load from vehicle worker processes; latency from the scheduled send of auth.request to the verified auth.result (each vehicle then stops the session and waits for the signed receipt). ![latency against offered load](latency.svg)',
    );
    for (const run of r.handshake) {
      const bare = run.server === 'bare';
      lines.push(
        '',
        `### ${runLabel(run.broker, run.server)}${bare ? ' (reference)' : ''}${run.signedReceipts === false ? ' (MAC-only receipts)' : ''}: ${run.piles} piles, ${run.vehicles} vehicles, ${run.workers} generator processes`,
        '',
        ...(bare ? [`${barePileComparison(r.handshake, run)}`, ''] : []),
        `${bare ? 'Bare pile' : 'Gateway'} start-up ${run.gatewayStartupMs} ms. Highest rate with p99 <= 20 ms and nothing lost: **${run.maxRateP99Within20Ms || 'none'}/s**; peak verified rate ${run.peakAchievedPerS}/s; stopped: ${run.stoppedBecause}.${run.error ? ` Error: ${run.error}` : ''}`,
        '',
        run.unloaded
          ? `Unloaded, one handshake at a time (each starts when the previous receipt is in): ${run.unloaded.handshakes} handshakes, p50 **${fmt(run.unloaded.p50Ms)} ms**, p95 ${fmt(run.unloaded.p95Ms)} ms, p99 ${fmt(run.unloaded.p99Ms)} ms, ${run.unloaded.failed} failed. At the lowest open-loop rate below, each handshake arrives at processes that have gone idle; waking them is part of that p50.`
          : 'No unloaded run.',
        '',
        table(
          [
            'offered /s',
            'achieved /s',
            'p50 ms',
            'p95 ms',
            'p99 ms',
            'lost',
            'errors',
            bare ? 'bare pile CPU %' : 'gateway CPU %',
            bare ? 'bare pile RSS MB' : 'gateway RSS MB',
            'broker CPU %',
            'broker RSS MB',
            'generators CPU %',
            'load 1m',
          ],
          run.steps.map((s) => [
            s.offeredPerS,
            s.achievedPerS,
            fmt(s.p50Ms),
            fmt(s.p95Ms),
            fmt(s.p99Ms),
            s.lost,
            Object.entries(s.errors)
              .map(([k, v]) => `${k}:${v}`)
              .join(' ') || '0',
            s.gatewayCpuPercent,
            s.gatewayRssMB,
            s.brokerCpuPercent,
            s.brokerRssMB,
            s.generatorCpuPercent ?? '',
            s.loadavg1,
          ]),
        ),
      );
    }
  }
  if (r.scale) {
    const s = r.scale;
    lines.push(
      '',
      `## 2. ${s.piles.toLocaleString('en')} piles in one gateway`,
      '',
      table(
        [
          'piles',
          'connectors',
          'start-up ms',
          'idle RSS MB',
          'RSS MB, highest while keeping up',
          'RSS MB, highest incl. saturated',
          'peak handshakes/s',
          'broker RSS MB',
        ],
        [
          [
            s.piles,
            s.connectors,
            s.gatewayStartupMs,
            s.gatewayIdleRssMB,
            s.gatewayServingRssMB,
            s.gatewayPeakRssMB,
            s.peakAchievedPerS,
            s.brokerRssMB,
          ],
        ],
      ),
    );
    if (s.subscribeProblem) lines.push('', `**Subscriptions failed:** ${s.subscribeProblem}`);
    if (s.steps.length)
      lines.push(
        '',
        table(
          ['offered /s', 'achieved /s', 'p50 ms', 'p99 ms', 'lost', 'gateway CPU %', 'gateway RSS MB'],
          s.steps.map((x) => [
            x.offeredPerS,
            x.achievedPerS,
            fmt(x.p50Ms),
            fmt(x.p99Ms),
            x.lost,
            x.gatewayCpuPercent,
            x.gatewayRssMB,
          ]),
        ),
      );
    if (s.error) lines.push('', `Error: ${s.error}`);
  }
  if (r.receiptCost) {
    const c = r.receiptCost;
    lines.push(
      '',
      '## What signing every receipt costs the gateway',
      '',
      `Two copies of the system side by side (broker, gateway, open-loop load: every handshake ends with a stop and its receipt), one gateway with its piles' OCMF signing keys and one without, measured over the same windows, the signing copy alternating; load average ${c.loadavg1}. A saturated gateway is bound by its event loop; a live session's receipt is made on the gateway's receipt-signing thread beside it. Signing costs ${fmt(c.throughputLossPercent, '%')} of the session throughput (event loop ${fmt(c.unsignedCpuMsPerSession)} → ${fmt(c.signedCpuMsPerSession)} ms of CPU per session, medians); the whole process spends ${fmt(c.processCpuIncreasePercent, '%')} more CPU per session.`,
      '',
      table(
        [
          'window',
          'receipts',
          'offered /s',
          'sessions',
          'receipts missing',
          'event loop CPU ms / session',
          'process CPU ms / session',
        ],
        c.rounds.map((x) => [
          x.window ?? '',
          x.signed ? 'signed (OCMF)' : 'MAC only',
          x.offeredPerS,
          x.sessions,
          x.receiptsMissing,
          x.eventLoopCpuMsPerSession,
          x.gatewayCpuMsPerSession,
        ]),
      ),
    );
    if (c.error) lines.push('', `Error: ${c.error}`);
  }
  if (r.logins) {
    const l = r.logins;
    lines.push(
      '',
      '## Broker logins during a bad-login flood',
      '',
      `Wrong-password CONNECTs at ${l.floodPerS}/s from another address, then from the genuine client's own (a NAT; ${l.badLoginsSent} sent in all).`,
      '',
      table(
        ['login', 'p50 ms', 'p95 ms', 'max ms', 'failed'],
        [
          ['first login, no flood', l.genuineQuietMs.p50, l.genuineQuietMs.p95, l.genuineQuietMs.max, ''],
          [
            'first login, during the flood',
            l.genuineDuringFloodMs.p50,
            l.genuineDuringFloodMs.p95,
            l.genuineDuringFloodMs.max,
            l.genuineFailedDuringFlood,
          ],
          [
            'first login, flood from its own address',
            l.sharedAddressMs.p50,
            l.sharedAddressMs.p95,
            l.sharedAddressMs.max,
            l.sharedAddressFailed,
          ],
          [
            'remembered login, during the flood',
            l.rememberedDuringFloodMs.p50,
            l.rememberedDuringFloodMs.p95,
            l.rememberedDuringFloodMs.max,
            '',
          ],
        ],
      ),
      '',
      `Fresh logins sustained (16 at a time, no flood): ${l.loginsPerS}/s. A login refused at once during the flood from its own address is the gate's back-off or full queue for that address: a retry gets through.`,
    );
    if (l.error) lines.push('', `Error: ${l.error}`);
  }
  if (r.issuance) {
    const i = r.issuance;
    lines.push(
      '',
      '## 3. Credential issuance',
      '',
      table(
        [
          'credentials',
          'vehicles × piles',
          'issued and published in ms',
          'per second',
          'broker RSS before MB',
          'broker RSS holding them MB',
          'per credential bytes',
        ],
        [
          [
            i.credentials,
            `${i.vehicles} × ${i.piles}`,
            i.issueMs,
            i.issuedPerS,
            i.brokerRssBeforeMB,
            i.brokerRssAfterMB,
            i.bytesPerCredential,
          ],
        ],
      ),
    );
    if (i.error) lines.push('', `Error: ${i.error}`);
  }
  if (r.iso15118) {
    lines.push(
      '',
      "## 4. Against Plug & Charge's way (ISO 15118, ECDSA P-256)",
      '',
      'Crypto and message work per authentication, one core, same run.',
      '',
      table(
        ['scheme', 'side', 'library', 'median µs', 'p99 µs', 'per second (one core)'],
        r.iso15118.rows.map((x) => [x.scheme, x.side, x.library, x.medianUs, x.p99Us, x.perSecondOneCore]),
      ),
      '',
      table(
        ['side', 'library', 'ISO 15118 cost ÷ evauth cost'],
        r.iso15118.ratios.map((x) => [x.side, x.library, `${x.isoOverEvauth}×`]),
      ),
      '',
      r.iso15118.note,
    );
  }
  if (r.headUnit) {
    const h = r.headUnit;
    lines.push(
      '',
      '## 5. Head unit',
      '',
      table(
        [
          'initial JS gzip KB',
          'lazy JS gzip KB',
          'operator page JS gzip KB',
          'tap → authorised p50 ms',
          'p95 ms',
          'samples',
        ],
        [
          [
            fmt(h.initialGzipKB),
            fmt(h.lazyGzipKB),
            fmt(h.operatorGzipKB),
            fmt(h.tapToAuthorisedMs?.p50),
            fmt(h.tapToAuthorisedMs?.p95),
            h.tapToAuthorisedMs?.count ?? 0,
          ],
        ],
      ),
    );
    if (h.sizeError) lines.push('', `Size: ${h.sizeError}`);
    if (h.tapError) lines.push('', `Tap to authorised: ${h.tapError}`);
  }
  if (r.ocpp) {
    const o = r.ocpp;
    lines.push(
      '',
      '## 6. Tap to energised through OCPP',
      '',
      table(
        [
          'stations',
          'OCPP p50 ms',
          'p99 ms',
          'simulator p50 ms',
          'OCPP leg adds (p50) ms',
          'RSS per station KB',
        ],
        [
          [
            o.stations,
            fmt(o.ocppMs.p50),
            fmt(o.ocppMs.p99),
            fmt(o.simulatorMs.p50),
            fmt(o.addedP50Ms),
            fmt(o.rssPerStationKB),
          ],
        ],
      ),
    );
    if (o.error) lines.push('', `Error: ${o.error}`);
  }
  if (r.cluster) lines.push(...clusterSection(r.cluster));
  if (r.protocol?.length) {
    lines.push(
      '',
      '## Protocol core (one process, no MQTT)',
      '',
      table(
        ['operation', 'median µs', 'p99 µs', 'ops/s', 'target µs'],
        r.protocol.map((x) => [x.name, x.medianUs, x.p99Us, x.opsPerSec, x.targetUs ?? '']),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
