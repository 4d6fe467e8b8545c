/** Markdown pieces of the report page (report-markdown.ts): tables, and the cluster section. */
import { type BenchReport, fmt } from './report.js';

export function table(head: string[], rows: (string | number)[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

export function clusterSection(c: NonNullable<BenchReport['cluster']>): string[] {
  const h = c.handshakeMs;
  const lines = [
    '',
    '## 7. Past one machine: a broker cluster sharing Redis',
    '',
    `Handshake, auth.request sent → auth.result verified, ${c.handshakes} one at a time (docs/deploy.md):`,
    '',
    table(
      ['broker', 'p50 ms', 'p99 ms'],
      [
        ['one broker', fmt(h.oneBroker.p50), fmt(h.oneBroker.p99)],
        ['one cluster node (car and gateway on it)', fmt(h.oneNode.p50), fmt(h.oneNode.p99)],
        ['two nodes (car on one, gateway on the other)', fmt(h.acrossNodes.p50), fmt(h.acrossNodes.p99)],
        ['the cluster hop adds', fmt(c.hopP50Ms), fmt(c.hopP99Ms)],
      ],
    ),
  ];
  if (c.retained) {
    lines.push(
      '',
      `A car's retained credentials (sealed: ${c.retained.credentialPayloadBytes} B) with many in Redis; Redis memory per credential ${c.retained.redisBytesPerCredential} B (upstream's layout ${c.retained.upstreamBytesPerCredential} B):`,
      '',
      table(
        [
          'credentials in Redis',
          "car's own",
          'delivered p50 ms',
          'p99 ms',
          'lookup p50 ms',
          'upstream HSCAN p50 ms',
        ],
        c.retained.sizes.map((s) => [
          s.credentials,
          s.perCar,
          fmt(s.deliveryMs.p50),
          fmt(s.deliveryMs.p99),
          fmt(s.indexedLookupMs.p50),
          fmt(s.upstreamLookupMs.p50),
        ]),
      ),
    );
  }
  if (c.fleet && c.paper) {
    const f = c.fleet;
    const p = c.paper;
    lines.push(
      '',
      table(
        [
          'cars on a node',
          'node RSS per car KB',
          'Redis per car channel B',
          'head unit connect: piles',
          'messages',
          'MB',
          'ms',
        ],
        [
          [
            f.cars,
            fmt(f.nodeRssPerCarKB),
            f.redisBytesPerCarChannel,
            f.connect.piles,
            f.connect.messages,
            fmt(f.connect.bytes / 2 ** 20),
            f.connect.ms,
          ],
        ],
      ),
      '',
      `On paper: ${p.carsPerNode} cars per node in ${p.nodeBudgetMB} MB; 1,000,000 cars need ${p.nodesForMillionCars} nodes (one spare) and about ${p.redisGB} GB of Redis; a head unit connecting with 100,000 piles pulls ${p.headUnitConnectAt100kPiles.messages} retained messages (${p.headUnitConnectAt100kPiles.MB} MB, ${p.headUnitConnectAt100kPiles.seconds} s), so a node's death sends its ${p.nodeDeath.cars} cars ${p.nodeDeath.messages} messages (${p.nodeDeath.nodeHoursAtMeasuredRate} node-hours at the measured rate).`,
    );
  }
  if (c.issuance) {
    const i = c.issuance;
    lines.push(
      '',
      `Credential issuance, ${i.vehicles} vehicles × ${i.piles} piles, from the cloud instances' start to the last credential delivered:`,
      '',
      table(
        ['cloud', 'delivered', 'ms', 'per second'],
        i.runs.map((r) => [`${r.instances} on ${r.store}`, `${r.delivered}/${r.credentials}`, r.ms, r.perS]),
      ),
    );
    if (i.error) lines.push('', `Issuance error: ${i.error}`);
  }
  if (c.error) lines.push('', `Error: ${c.error}`);
  return lines;
}
