/** `npm run bench [-- --quick]`: prints a table and writes JSON under bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchRow, protocolBench } from './protocol.js';

const quick = process.argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, 'results');

function printTable(title: string, rows: BenchRow[]): void {
  console.log(`\n${title}`);
  console.log('| operation | median µs | p99 µs | ops/s | target µs | met |');
  console.log('| --- | ---: | ---: | ---: | ---: | :-: |');
  for (const r of rows) {
    const met =
      r.targetUs === undefined
        ? ''
        : r.medianUs <= r.targetUs
          ? 'yes'
          : `no (+${(r.medianUs - r.targetUs).toFixed(1)})`;
    console.log(`| ${r.name} | ${r.medianUs} | ${r.p99Us} | ${r.opsPerSec} | ${r.targetUs ?? ''} | ${met} |`);
  }
}

const protocol = protocolBench(quick);
printTable('Protocol core (one process, no MQTT)', protocol);
mkdirSync(resultsDir, { recursive: true });
const out = join(resultsDir, 'protocol.json');
writeFileSync(
  out,
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, quick, rows: protocol }, null, 2)}\n`,
);
console.log(`\nwrote ${out}`);
