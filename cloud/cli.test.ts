import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCloudCli } from './cli.test-support.js';
import { tableRowCounts } from './store/sqlite-file.test-support.js';

const cli = (...args: string[]) => runCloudCli(args);

/** Row counts of every table: "unchanged" means all equal. */
const snapshot = (dir: string) => tableRowCounts(join(dir, 'cloud.db'));

describe('evauth-cloud CLI (real process)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-cli-'));
    expect(cli('--data', dir, 'init').code).toBe(0);
    expect(cli('--data', dir, 'gateway', 'add', 'G1').code).toBe(0);
    expect(
      cli('--data', dir, 'pile', 'add', 'P1', '--site', 'A', '--gateway', 'G1', '--connectors', '2').code,
    ).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('registers a vehicle, prints and writes its provisioning file, and grants it a pile', () => {
    const added = cli('--data', dir, 'vehicle', 'add', 'V1', '--mqtt-url', 'mqtt://127.0.0.1:1999');
    expect(added.code).toBe(0);
    const printed = JSON.parse(added.stdout);
    expect(printed).toMatchObject({
      v: 1,
      vid: 'V1',
      mqtt: { url: 'mqtt://127.0.0.1:1999', username: 'vehicle:V1' },
    });
    const file = join(dir, 'provisioning', 'vehicles', 'V1.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(printed);
    expect(statSync(join(dir, 'master.key')).mode & 0o077).toBe(0);
    expect(statSync(join(dir, 'cloud.secret')).mode & 0o077).toBe(0);
    const granted = cli('--data', dir, 'grant', 'V1', '--pile', 'P1');
    expect(granted.code).toBe(0);
    expect(cli('--data', dir, 'list', 'grants', '--json').stdout).toContain('"vid": "V1"');
    // the registry never holds the clear password
    const db = readFileSync(join(dir, 'cloud.db'));
    expect(db.includes(Buffer.from(printed.mqtt.password))).toBe(false);
  });

  it('exports a gateway config and keystore (0600) with a login and operator token that survive re-export', () => {
    const out = join(dir, 'gw');
    expect(cli('--data', dir, 'gateway', 'export', 'G1', '--out', out).code).toBe(0);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      v: 1,
      gid: 'G1',
      keystore: 'keystore.json',
      mqtt: { username: 'gateway:G1' },
    });
    expect(config.piles.map((p: { pid: string }) => p.pid)).toEqual(['P1']);
    expect(statSync(join(out, 'keystore.json')).mode & 0o077).toBe(0);
    expect(cli('--data', dir, 'gateway', 'export', 'G1', '--out', out).code).toBe(0);
    const again = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(again.mqtt.password).toBe(config.mqtt.password);
    // a fresh random operator token, kept on re-export, and none like it elsewhere
    expect(config.http.token).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(again.http.token).toBe(config.http.token);
    expect(config.http.token).not.toBe(config.mqtt.password);
    const other = join(dir, 'gw-other');
    expect(cli('--data', dir, 'gateway', 'export', 'G1', '--out', other).code).toBe(0);
    expect(JSON.parse(readFileSync(join(other, 'config.json'), 'utf8')).http.token).not.toBe(
      config.http.token,
    );
  });

  it('registers OCPP stations and exports their endpoint and passwords, kept across re-exports', () => {
    const add = cli(
      '--data',
      dir,
      'pile',
      'add',
      'P7',
      '--site',
      'A',
      '--gateway',
      'G1',
      '--ocpp-station',
      'CS-7',
    );
    expect(add.code).toBe(0);
    const set = cli('--data', dir, 'pile', 'set-charger', 'P1', '--ocpp', 'CS-1');
    expect(set.code).toBe(0);
    const printed = JSON.parse(set.stdout);
    expect(printed).toMatchObject({ kind: 'ocpp', stationId: 'CS-1' });
    expect(printed.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const out = join(dir, 'gw-ocpp');
    const exported = () => {
      const run = cli(
        ...['--data', dir, 'gateway', 'export', 'G1', '--out', out, '--ocpp-host', '0.0.0.0'],
        ...['--ocpp-port', '9443', '--ocpp-tls-cert', 'ocpp-cert.pem', '--ocpp-tls-key', 'ocpp-key.pem'],
      );
      expect(run.code).toBe(0);
      return JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    };
    const config = exported();
    expect(config.ocpp).toEqual({
      host: '0.0.0.0',
      port: 9443,
      tls: { cert: 'ocpp-cert.pem', key: 'ocpp-key.pem' },
    });
    const chargers = Object.fromEntries(
      config.piles.map((p: { pid: string; charger?: unknown }) => [p.pid, p.charger]),
    );
    expect(chargers.P1).toEqual(printed);
    expect(chargers.P7).toMatchObject({ kind: 'ocpp', stationId: 'CS-7' });
    expect(chargers.P7.password).not.toBe(printed.password);
    // the registry shows which station a pile is, never its password
    const shown = cli('--data', dir, 'show', 'pile', 'P7').stdout;
    expect(JSON.parse(shown)).toMatchObject({ pid: 'P7', ocpp_station: 'CS-7' });
    expect(shown).not.toContain(chargers.P7.password);
    // the same passwords on every export (the stations were configured with them), sealed in the registry
    expect(exported().piles).toEqual(config.piles);
    const db = readFileSync(join(dir, 'cloud.db'));
    expect(db.includes(Buffer.from(printed.password))).toBe(false);
  }, 90_000); // several CLI processes: on a loaded machine each takes seconds

  it('gives a station a new password only when asked, one pile per station, and the simulator back', () => {
    const printed = JSON.parse(cli('--data', dir, 'pile', 'set-charger', 'P1', '--ocpp', 'CS-1').stdout);
    const out = join(dir, 'gw-ocpp');
    const renewed = JSON.parse(
      cli('--data', dir, 'pile', 'set-charger', 'P1', '--ocpp', 'CS-1', '--new-password').stdout,
    );
    expect(renewed.password).not.toBe(printed.password);
    const taken = cli('--data', dir, 'pile', 'set-charger', 'P1', '--ocpp', 'CS-7');
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toMatch(/station CS-7 already serves pile P7/);
    expect(cli('--data', dir, 'pile', 'set-charger', 'P1', '--simulator').code).toBe(0);
    expect(cli('--data', dir, 'pile', 'set-charger', 'P7', '--simulator').code).toBe(0);
    const plain = cli('--data', dir, 'gateway', 'export', 'G1', '--out', out);
    expect(plain.code).toBe(0);
    const simulated = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(simulated.ocpp).toBeUndefined();
    expect(simulated.piles.every((p: { charger?: unknown }) => p.charger === undefined)).toBe(true);
  }, 90_000);

  it.each([
    ['bad station id', ['pile', 'set-charger', 'P1', '--ocpp', 'CS 1/x'], /station id "CS 1\/x" must be/],
    ['no charger named', ['pile', 'set-charger', 'P1'], /say which charger/],
    ['half a TLS pair', ['gateway', 'export', 'G1', '--ocpp-tls-cert', 'c.pem'], /go together/],
    ['unknown vehicle', ['grant', 'NOPE', '--pile', 'P1'], /unknown vehicle NOPE/],
    ['malformed vehicle id', ['vehicle', 'add', 'bad/id'], /vehicle id "bad\/id" must match/],
    ['malformed pile id option', ['grant', 'V1', '--pile', 'P 1'], /must match/],
    ['unknown pile', ['rotate', 'P9'], /unknown pile P9/],
    ['unknown ticket', ['revoke', '--ticket', 'AAAAAAAAAAAAAAAAAAAAAA'], /unknown ticket/],
    ['nothing to revoke', ['revoke'], /say what to revoke/],
    ['bad number', ['pile', 'add', 'P5', '--site', 'A', '--lat', 'north'], /--lat.*invalid/],
    ['unknown gateway', ['pile', 'add', 'P6', '--site', 'A', '--gateway', 'G9'], /unknown gateway G9/],
    ['duplicate vehicle', ['vehicle', 'add', 'V1'], /already exists/],
    ['unknown command', ['frobnicate'], /unknown command/],
  ])('%s: clear message, non-zero exit, no stack trace, database unchanged', (_name, args, message) => {
    const before = snapshot(dir);
    const run = cli('--data', dir, ...args);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses a missing data folder without creating it', () => {
    const missing = join(dir, 'does-not-exist');
    const run = cli('--data', missing, 'vehicle', 'add', 'V9');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/no evauth registry in .*does-not-exist.*init/);
    expect(existsSync(missing)).toBe(false);
  });

  it('has --help on every command', () => {
    for (const args of [
      [],
      ['vehicle', 'add'],
      ['pile', 'add'],
      ['gateway', 'export'],
      ['grant'],
      ['revoke'],
      ['rotate'],
      ['export-mosquitto'],
    ]) {
      const run = cli(...args, '--help');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Usage: evauth-cloud/);
    }
  });
});
