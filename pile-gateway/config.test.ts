/** The gateway's config file: a bad field is named, an exposed keystore refused. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayConfigError, loadGatewayConfig } from './config.js';
import { makePile, removeTempDirs, tempDir, writeGatewayFolder } from './testkit.js';

afterAll(() => removeTempDirs());

/** A valid gateway folder with one pile, to break in one way per test. */
function gatewayFolder(): { dir: string; configPath: string } {
  const dir = tempDir('gwcfg');
  const configPath = writeGatewayFolder(dir, {
    gid: 'g',
    mqttUrl: 'mqtt://x',
    password: 'p',
    piles: [makePile('A')],
  });
  return { dir, configPath };
}

describe('gateway config', () => {
  it('names the bad field', () => {
    const { configPath } = gatewayFolder();
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    config.piles[0].connectors[0].maxW = 'lots';
    fs.writeFileSync(configPath, JSON.stringify(config));
    expect(() => loadGatewayConfig(configPath)).toThrow(/piles\.0\.connectors\.0\.maxW/);
  });

  it('refuses revision-1 requests unless acceptRevision1Requests is true (PROTOCOL §6 migration switch)', () => {
    const { configPath } = gatewayFolder();
    expect(loadGatewayConfig(configPath).config.acceptRevision1Requests).toBe(false);
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    fs.writeFileSync(configPath, JSON.stringify({ ...config, acceptRevision1Requests: true }));
    expect(loadGatewayConfig(configPath).config.acceptRevision1Requests).toBe(true);
    fs.writeFileSync(configPath, JSON.stringify({ ...config, acceptRevision1Requests: 'yes' }));
    expect(() => loadGatewayConfig(configPath)).toThrow(/field acceptRevision1Requests/);
  });

  it('takes ocmfReadingIntervalMs, off by default, and names it when it is not 10 ms to a day', () => {
    const { configPath } = gatewayFolder();
    expect(loadGatewayConfig(configPath).config.ocmfReadingIntervalMs).toBeUndefined();
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    fs.writeFileSync(configPath, JSON.stringify({ ...config, ocmfReadingIntervalMs: 900_000 }));
    expect(loadGatewayConfig(configPath).config.ocmfReadingIntervalMs).toBe(900_000);
    const refused: [unknown, RegExp][] = [
      [5, /field ocmfReadingIntervalMs: must be at least 10 ms/],
      [86_400_001, /field ocmfReadingIntervalMs: must be at most 86400000 ms/],
      [1500.5, /field ocmfReadingIntervalMs: must be a whole number of milliseconds/],
      ['15m', /field ocmfReadingIntervalMs: /],
    ];
    for (const [value, message] of refused) {
      fs.writeFileSync(configPath, JSON.stringify({ ...config, ocmfReadingIntervalMs: value }));
      expect(() => loadGatewayConfig(configPath), String(value)).toThrow(message);
    }
  });

  it('takes every broker node of a cluster in mqtt.urls, beginning with mqtt.url', () => {
    const { configPath } = gatewayFolder();
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    config.mqtt.urls = ['mqtt://x', 'mqtt://y:1884'];
    fs.writeFileSync(configPath, JSON.stringify(config));
    expect(loadGatewayConfig(configPath).config.mqtt.urls).toEqual(['mqtt://x', 'mqtt://y:1884']);
    config.mqtt.urls = ['mqtt://y:1884', 'mqtt://x'];
    fs.writeFileSync(configPath, JSON.stringify(config));
    expect(() => loadGatewayConfig(configPath)).toThrow(/field mqtt\.urls: must begin with mqtt\.url/);
    config.mqtt.urls = ['mqtt://x', 'http://y'];
    fs.writeFileSync(configPath, JSON.stringify(config));
    expect(() => loadGatewayConfig(configPath)).toThrow(
      /field mqtt\.urls\.1: must be an mqtt:\/\/ or ws:\/\/ URL/,
    );
  });

  it('reads each pile’s signingKey (PROTOCOL §8a) and names it when it is not a P-256 private key', () => {
    const { dir, configPath } = gatewayFolder();
    const keystorePath = path.join(dir, 'keystore.json');
    const keystore = JSON.parse(fs.readFileSync(keystorePath, 'utf8'));
    expect(loadGatewayConfig(configPath).keys.get('A')?.signingKey).toHaveLength(32);
    const refused = (signingKey: unknown) => {
      keystore.piles[0].signingKey = signingKey;
      fs.writeFileSync(keystorePath, JSON.stringify(keystore), { mode: 0o600 });
      try {
        loadGatewayConfig(configPath);
      } catch (error) {
        expect(error).toBeInstanceOf(GatewayConfigError);
        expect((error as GatewayConfigError).code).toBe('KEYSTORE_INVALID');
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused('not a key')).toMatch(/piles\.0: .*signingKey/);
    expect(refused(12)).toMatch(/piles\.0: .*signingKey/);
    // the right length, but 0 and 2^256 - 1 are not scalars of P-256
    for (const fill of [0, 0xff])
      expect(refused(Buffer.alloc(32, fill).toString('base64url'))).toMatch(
        /keystore .*: piles\.0\.signingKey: is not a P-256 private key/,
      );
    delete keystore.piles[0].signingKey;
    fs.writeFileSync(keystorePath, JSON.stringify(keystore), { mode: 0o600 });
    expect(loadGatewayConfig(configPath).keys.get('A')?.signingKey).toBeUndefined();
  });

  it('takes an operator token of 32 or more token characters in http.token, and none at all', () => {
    const { configPath } = gatewayFolder();
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    expect(loadGatewayConfig(configPath).config.http?.token).toBe(config.http.token);
    for (const bad of ['short', 'x'.repeat(31), `${'x'.repeat(40)} y`, 42]) {
      fs.writeFileSync(configPath, JSON.stringify({ ...config, http: { ...config.http, token: bad } }));
      expect(() => loadGatewayConfig(configPath)).toThrow(/field http\.token/);
    }
    fs.writeFileSync(configPath, JSON.stringify({ ...config, http: { port: 0 } }));
    expect(loadGatewayConfig(configPath).config.http?.token).toBeUndefined();
  });

  it('refuses a keystore readable by others', () => {
    const { dir, configPath } = gatewayFolder();
    fs.chmodSync(path.join(dir, 'keystore.json'), 0o644);
    let error: unknown;
    try {
      loadGatewayConfig(configPath);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GatewayConfigError);
    expect((error as GatewayConfigError).code).toBe('KEYSTORE_INSECURE');
  });
});
