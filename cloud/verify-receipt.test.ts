/** `evauth-cloud verify-receipt`: the record checks in process, and the command run as a real process. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOcmfSigner } from '../node/receipt-signing.js';
import {
  b64uDecode,
  b64uEncode,
  buildReceiptOcmfPayload,
  checkP256PublicKey,
  signOcmfPayload,
} from '../shared/index.js';
import { receiptVectors } from '../shared/receipt/vectors.test-support.js';
import { testPileSpec } from '../tests/support/pile-spec.js';
import { runCloudCli as cli } from './cli.test-support.js';
import { openRegistry } from './registry.js';
import { describeReceipts, registeredSignKey, splitOcmfRecords, verifyReceipts } from './verify-receipt.js';

const vector = receiptVectors()[0]!;

/** Another session of the vector's pile, signed with its key: page `pg`, `wh` Wh from `startWh`. */
function session(pg: number, startWh: number, wh: number): string {
  const { text } = buildReceiptOcmfPayload({
    pid: vector.pid,
    connector: 2,
    tid: 'A0qSThoNNJVzbDjOdY-7tQ',
    gi: 'evauth-gateway',
    gv: '0.1.0',
    pg,
    startedAt: vector.endedAt + 600,
    endedAt: vector.endedAt + 2400,
    startWh,
    endWh: startWh + wh,
    tzOffset: 60,
  });
  return signOcmfPayload(text, vector.signingKey);
}

let dir: string;
/** A registry with pile P1 (a key the cloud made) and the vector's pile (its key registered by the operator). */
let registryDir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'evauth-verify-receipt-'));
  registryDir = join(dir, 'registry');
  const registry = await openRegistry(registryDir);
  try {
    await registry.init();
    await registry.addPile('P1', testPileSpec());
    await registry.addPile(vector.pid, { ...testPileSpec(), signKey: vector.signKey });
  } finally {
    await registry.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('verifyReceipts', () => {
  const key = b64uDecode(vector.signKey);

  it('verifies several records of one pile whose pages rise, and counts them', () => {
    const { records } = splitOcmfRecords(`${vector.ocmf}\n\n${session(18, 120_000, 1500)}\r\n`);
    const verdicts = verifyReceipts(records, key, { pid: vector.pid });
    expect(verdicts.map((v) => [v.line, v.failure?.message, v.energy?.wh])).toEqual([
      [1, undefined, vector.wh],
      [3, undefined, 1500],
    ]);
    expect(describeReceipts(verdicts).at(-1)).toBe('2 records: all valid');
  });

  it('refuses a page that does not rise above the same pile’s record before it', () => {
    const { records } = splitOcmfRecords(
      [session(18, 120_000, 1500), vector.ocmf, session(19, 0, 1)].join('\n'),
    );
    const verdicts = verifyReceipts(records, key);
    expect(verdicts.map((v) => v.failure?.message)).toEqual([
      undefined,
      `PG: T17 is not above T18 of ${vector.pid}'s record on line 1`,
      undefined,
    ]);
  });

  it('keeps a record pretty-printed over several lines whole (the signed payload is kept as it is)', () => {
    const [header, payload, signature] = session(18, 0, 10).split('|') as [string, string, string];
    const pretty = JSON.stringify(JSON.parse(payload), null, 2);
    const signed = signOcmfPayload(pretty, vector.signingKey);
    const { records } = splitOcmfRecords(`${signed}\n`);
    expect(records).toHaveLength(1);
    expect(verifyReceipts(records, key)[0]!.failure).toBeUndefined();
    // Reflowing it afterwards changes the signed bytes.
    const reflowed = splitOcmfRecords(`${header}|${pretty}|${signature}`).records;
    expect(verifyReceipts(reflowed, key)[0]!.failure?.code).toBe('BAD_SIGNATURE');
  });

  it("refuses another pile's record under --pile, and says what is stray in the file", () => {
    const verdicts = verifyReceipts(splitOcmfRecords(vector.ocmf).records, key, { pid: 'PILE-0002' });
    expect(verdicts[0]!.failure?.message).toBe('GS: is PILE-0001, not pile PILE-0002');
    expect(splitOcmfRecords(`hello\n${vector.ocmf}`).stray).toBe(1);
  });

  it('reads a pile’s key from its directory entry, and says when the pile is unknown', async () => {
    const registry = await openRegistry(registryDir);
    try {
      expect(await registeredSignKey(registry, vector.pid)).toBe(vector.signKey);
      const made = await registeredSignKey(registry, 'P1');
      expect(checkP256PublicKey(b64uDecode(made), { compressedOnly: true }).ok).toBe(true);
      expect(made).not.toBe(vector.signKey);
      await expect(registeredSignKey(registry, 'P2')).rejects.toThrow('unknown pile P2');
    } finally {
      await registry.close();
    }
  });
});

describe('evauth-cloud verify-receipt (real process)', () => {
  it('prints what each record shows and "signature valid", exit 0', () => {
    const path = file('two.ocmf', `${vector.ocmf}\n${session(18, 120_000, 1500)}\n`);
    const run = cli(['verify-receipt', path, '--sign-key', vector.signKey]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    for (const expected of [
      'record 1 (line 1)',
      `  meter serial     ${vector.pid}*1`,
      `  identification   ${vector.tid} (CENTRAL)`,
      `  charge point     ${vector.pid}*1`,
      '  reading B        2026-01-01T00:00:40,000+0000 S  100 kWh',
      '  reading E        2026-01-01T01:00:40,000+0000 S  120 kWh',
      '  energy           20.000 kWh',
      'record 2 (line 2)',
      '  reading E        2026-01-01T02:40:40,000+0100 S  121.5 kWh',
      '  energy           1.500 kWh',
      '2 records: all valid',
    ])
      expect(lines).toContain(expected);
    expect(run.stdout.match(/ {2}signature valid/g)).toHaveLength(2);
  });

  it('reads stdin; a tampered record is INVALID, exit 1, no stack trace', () => {
    const run = cli(['verify-receipt', '-', '--sign-key', vector.signKey], `${vector.tamperedOcmf}\n`);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('  reading E        2026-01-01T01:00:40,000+0000 S  120.001 kWh');
    expect(run.stdout).toContain('  INVALID: SD: does not verify under this key');
    expect(run.stderr).toBe('error: 1 of 1 records did not verify\n');
  });

  it('refuses a malformed record and a page that does not rise, naming the field, exit 1', () => {
    const malformed = vector.ocmf.replace('"PG":"T17"', '"PG":"17"');
    const path = file('bad.ocmf', [session(18, 0, 5), malformed, vector.ocmf].join('\n'));
    const run = cli(['verify-receipt', path, '--sign-key', vector.signKey]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('  INVALID: PG: must be "T<n>": T and a count without leading zeros');
    expect(run.stdout).toContain(`  INVALID: PG: T17 is not above T18 of ${vector.pid}'s record on line 1`);
    expect(run.stdout).toContain('3 records: 1 valid, 2 INVALID');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('verifies a record on another curve under a PEM key file', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' });
    const payload = vector.ocmf.split('|')[1]!;
    const record = createOcmfSigner(privateKey, 'ECDSA-brainpool256r1-SHA256')(payload);
    const pem = file('meter.pem', publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const run = cli(['verify-receipt', file('brainpool.ocmf', record), '--sign-key', pem]);
    expect(run.stdout).toContain('  algorithm        ECDSA-brainpool256r1-SHA256\n  signature valid');
    expect(run.code).toBe(0);
  });

  it('says clearly when the key is missing, is not a key, or is not a point; a pile’s registered key', () => {
    const path = file('one.ocmf', vector.ocmf);
    const noKey = cli(['verify-receipt', path]);
    expect([noKey.code, noKey.stderr]).toEqual([
      2,
      'error: say whose key to verify with: --pile <pid> or --sign-key <key>\n',
    ]);
    const notKey = cli(['verify-receipt', path, '--sign-key', 'hello']);
    expect(notKey.code).toBe(2);
    expect(notKey.stderr).toMatch(/^error: --sign-key must be a SEC1 public key/);
    // x changed until it names no point of P-256 (about half of all x do not)
    const offCurve = b64uDecode(vector.signKey);
    while (checkP256PublicKey(offCurve).ok) offCurve[32] = (offCurve[32]! + 1) & 0xff;
    const notPoint = cli(['verify-receipt', path, '--sign-key', b64uEncode(offCurve)]);
    expect(notPoint.stdout).toContain('  INVALID: signKey: is not a point of secp256r1');
    expect(notPoint.code).toBe(1);
    const registered = cli(['--data', registryDir, 'verify-receipt', path, '--pile', vector.pid]);
    expect([registered.code, registered.stdout]).toEqual([0, expect.stringContaining('  signature valid')]);
    const otherPile = cli(['--data', registryDir, 'verify-receipt', path, '--pile', 'P1']);
    expect(otherPile.stdout).toContain('  INVALID: SD: does not verify under this key');
    expect(otherPile.code).toBe(1);
    const unknown = cli(['--data', registryDir, 'verify-receipt', path, '--pile', 'P9']);
    expect([unknown.code, unknown.stderr]).toEqual([3, 'error: unknown pile P9\n']);
    const missing = cli(['verify-receipt', join(dir, 'absent.ocmf'), '--sign-key', vector.signKey]);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      `error: cannot read ${join(dir, 'absent.ocmf')}: ENOENT\n`,
    ]);
  });
});
