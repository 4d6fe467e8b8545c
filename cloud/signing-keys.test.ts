/**
 * The piles' receipt signing keys in the registry (PROTOCOL §8a) on a real cloud.db: made at `pile add` or
 * registered by the operator, the migration of a registry from before them, rotation, the keystore export and
 * the credentials that carry the key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  b64uDecode,
  b64uEncode,
  checkP256PublicKey,
  deriveSealKey,
  openCredential,
  signKeyOf,
  topics,
} from '../shared/index.js';
import { seededRandom } from '../shared/testing.js';
import { testPileSpec } from '../tests/support/pile-spec.js';
import { runCloudCli } from './cli.test-support.js';
import { writeGatewayExport } from './export.js';
import { directoryEntry } from './pile-topics.js';
import { reconcile } from './reconcile.js';
import { openRegistry, type Registry, RegistryError } from './registry.js';
import { tableRowCounts } from './store/sqlite-file.test-support.js';

const NOW = 1_767_225_600_000;
const issuer = { ticketLifeSeconds: 7 * 24 * 3600, random: seededRandom('signing-keys') };

let dir: string;
let registry: Registry;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'evauth-signing-keys-'));
  registry = await openRegistry(dir);
  await registry.init(NOW);
});
afterEach(async () => {
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The credential the registry retains for (vid, pid), opened with the vehicle's key. */
async function credentialOf(vid: string, pid: string) {
  const topic = topics.credential(vid, pid);
  const payload = await registry.store.read((tx) => tx.retainedPayload(topic));
  const provisioning = JSON.parse(readFileSync(registry.vehicleProvisioningPath(vid), 'utf8'));
  const opened = openCredential(deriveSealKey(b64uDecode(provisioning.vehicleKey), vid), topic, payload!);
  if (!opened.ok) throw new Error(opened.message);
  return opened.value;
}

async function vehicleWithGrant(vid: string, pid: string) {
  await registry.addVehicle(
    vid,
    { mqttUrl: 'mqtt://127.0.0.1:1883', wsUrl: 'ws://127.0.0.1:8083/mqtt' },
    NOW,
  );
  await registry.grant(vid, { scope: 'pile', target: pid, nbf: NOW / 1000 - 60 }, NOW);
}

describe('a pile’s signing key', () => {
  it('is made at pile add: the public key in the registry, the private scalar in the keystore entry only', async () => {
    const entry = await registry.addPile('P1', testPileSpec(), NOW);
    const pile = await registry.requirePile('P1');
    expect(entry.signingKey).toBeDefined();
    expect(signKeyOf(b64uDecode(entry.signingKey!))).toBe(pile.sign_key);
    expect(directoryEntry(pile).signKey).toBe(pile.sign_key);
    // sealed under the master key: the database never holds the clear scalar
    expect(Buffer.from(pile.signing_key_sealed!).includes(Buffer.from(b64uDecode(entry.signingKey!)))).toBe(
      false,
    );
    expect((await registry.keystoreEntry('P1')).signingKey).toBe(entry.signingKey);
    const other = await registry.addPile('P2', testPileSpec(), NOW);
    expect(other.signingKey).not.toBe(entry.signingKey);
  });

  it('goes into every credential, and a vehicle holding one gets a new credential when the key rotates', async () => {
    await registry.addPile('P1', testPileSpec(), NOW);
    await vehicleWithGrant('V1', 'P1');
    await reconcile(registry, NOW, issuer);
    const first = await credentialOf('V1', 'P1');
    expect(first.signKey).toBe((await registry.requirePile('P1')).sign_key);

    const rotated = await registry.rotateSignKey('P1', {}, NOW + 1000);
    expect(rotated).toMatchObject({ previous: first.signKey, made: true });
    expect(rotated.current).not.toBe(first.signKey);
    await reconcile(registry, NOW + 2000, issuer);
    const second = await credentialOf('V1', 'P1');
    expect(second.signKey).toBe(rotated.current);
    expect(second.tid).not.toBe(first.tid);
    const exported = await registry.keystoreEntry('P1');
    expect(signKeyOf(b64uDecode(exported.signingKey!))).toBe(rotated.current);
    // nothing changes in a pass after that
    expect((await credentialOf('V1', 'P1')).tid).toBe(second.tid);
  });

  it('can be the operator’s: only its public key is kept (compressed), re-export keeps the pile’s private key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = publicKey.export({ format: 'jwk' });
    const uncompressed = new Uint8Array([4, ...b64uDecode(jwk.x!), ...b64uDecode(jwk.y!)]);
    const scalar = b64uDecode(privateKey.export({ format: 'jwk' }).d!);
    await registry.addGateway('G1', {}, NOW);
    const entry = await registry.addPile(
      'P1',
      testPileSpec({ gid: 'G1', signKey: b64uEncode(uncompressed) }),
      NOW,
    );
    expect(entry.signingKey).toBeUndefined();
    const pile = await registry.requirePile('P1');
    expect(pile.sign_key).toBe(signKeyOf(scalar));
    expect(pile.signing_key_sealed).toBeNull();
    // PEM works too
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    await registry.addPile('P2', testPileSpec({ signKey: pem }), NOW);
    expect((await registry.requirePile('P2')).sign_key).toBe(pile.sign_key);

    // The operator puts the private key into the exported keystore; a re-export keeps it while it is the pile's.
    const outDir = join(dir, 'export');
    await writeGatewayExport(registry, 'G1', { mqttUrl: 'mqtt://127.0.0.1:1883', outDir });
    const path = join(outDir, 'keystore.json');
    const keystore = JSON.parse(readFileSync(path, 'utf8'));
    expect(keystore.piles[0].signingKey).toBeUndefined();
    keystore.piles[0].signingKey = b64uEncode(scalar);
    writeFileSync(path, JSON.stringify(keystore), { mode: 0o600 });
    await writeGatewayExport(registry, 'G1', { mqttUrl: 'mqtt://127.0.0.1:1883', outDir });
    expect(JSON.parse(readFileSync(path, 'utf8')).piles[0].signingKey).toBe(b64uEncode(scalar));
    // after a rotation to a key the cloud makes, the new one is exported instead
    await registry.rotateSignKey('P1', {}, NOW);
    await writeGatewayExport(registry, 'G1', { mqttUrl: 'mqtt://127.0.0.1:1883', outDir });
    const rotated = JSON.parse(readFileSync(path, 'utf8')).piles[0].signingKey;
    expect(signKeyOf(b64uDecode(rotated))).toBe((await registry.requirePile('P1')).sign_key);
  });

  it('refuses a key that is not a P-256 point, naming the field, and stores nothing', async () => {
    const before = tableRowCounts(join(dir, 'cloud.db'));
    // x changed until it names no point of P-256 (about half of all x do not)
    const offCurve = b64uDecode(signKeyOf(new Uint8Array(32).fill(7)));
    while (checkP256PublicKey(offCurve).ok) offCurve[32] = (offCurve[32]! + 1) & 0xff;
    const notPoint = registry.addPile('P1', testPileSpec({ signKey: b64uEncode(offCurve) }), NOW);
    await expect(notPoint).rejects.toThrow(RegistryError);
    await expect(notPoint).rejects.toThrow('signKey: is not a point of P-256');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const p384 = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    await expect(registry.addPile('P1', testPileSpec({ signKey: p384 }), NOW)).rejects.toThrow(
      'signKey: is not a P-256 public key',
    );
    await expect(registry.addPile('P1', testPileSpec({ signKey: 'hello' }), NOW)).rejects.toThrow(
      /^signKey: must be a SEC1 public key/,
    );
    await expect(registry.rotateSignKey('P1', {}, NOW)).rejects.toThrow('unknown pile P1');
    expect(tableRowCounts(join(dir, 'cloud.db'))).toEqual(before);
  });
});

describe('a registry from before signing keys (schema 3)', () => {
  it('migrates: each pile gets a key, and its vehicles new credentials that carry it', async () => {
    await registry.addPile('P1', testPileSpec(), NOW);
    await vehicleWithGrant('V1', 'P1');
    await reconcile(registry, NOW, issuer);
    const old = await credentialOf('V1', 'P1');
    await registry.close();
    // Back to schema 3 with the same data: the columns of migrations 4 and 5 dropped, the credential without signKey.
    const db = new Database(join(dir, 'cloud.db'));
    db.exec(`DROP INDEX piles_ocpp_station; ALTER TABLE piles DROP COLUMN ocpp_station;
      ALTER TABLE piles DROP COLUMN ocpp_password_sealed; ALTER TABLE piles DROP COLUMN sign_key; ALTER TABLE piles DROP COLUMN signing_key_sealed;
      ALTER TABLE tickets DROP COLUMN sign_key; PRAGMA user_version = 3;`);
    db.close();

    registry = await openRegistry(dir);
    const pile = await registry.requirePile('P1');
    expect(pile.sign_key).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(signKeyOf(b64uDecode((await registry.keystoreEntry('P1')).signingKey!))).toBe(pile.sign_key);
    const audit = await registry.store.read((tx) => tx.recentAudit(5));
    expect(audit.map((a) => a.action)).toContain('pile.sign-key');
    await reconcile(registry, NOW + 1000, issuer);
    const fresh = await credentialOf('V1', 'P1');
    expect(fresh.tid).not.toBe(old.tid);
    expect(fresh.signKey).toBe(pile.sign_key);
    // opening it again changes nothing
    await registry.close();
    registry = await openRegistry(dir);
    expect((await registry.requirePile('P1')).sign_key).toBe(pile.sign_key);
  });
});

describe('evauth-cloud pile add --sign-key and pile rotate-sign-key (real process)', () => {
  it('registers the operator’s key, refuses a bad one with a clear error, rotates and says to re-export', async () => {
    await registry.close();
    const cli = (...args: string[]) => runCloudCli(['--data', dir, ...args]);
    const bad = cli('pile', 'add', 'P9', '--site', 'A', '--sign-key', `02${'ff'.repeat(32)}`);
    expect([bad.code, bad.stderr]).toEqual([2, 'error: --sign-key: is not a point of P-256\n']);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = publicKey.export({ format: 'jwk' });
    const hex = Buffer.from([4, ...b64uDecode(jwk.x!), ...b64uDecode(jwk.y!)]).toString('hex');
    const added = cli('pile', 'add', 'P1', '--site', 'A', '--sign-key', hex);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout).signingKey).toBeUndefined();
    const rotated = cli('pile', 'rotate-sign-key', 'P1');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(
      /^pile P1: signKey [A-Za-z0-9_-]{44} -> [A-Za-z0-9_-]{44}\nre-export needed: /,
    );
    registry = await openRegistry(dir);
    expect(await registry.hasPile('P9')).toBe(false);
  });
});
