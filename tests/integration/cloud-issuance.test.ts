/**
 * A large issuing pass is committed and published in batches: the first credentials reach their vehicles while
 * the pass is still issuing, and none reaches the broker before its ticket row is committed in cloud.db.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginView, startBroker } from '../../broker/index.js';
import { reconcile } from '../../cloud/reconcile.js';
import { DB_FILE, openRegistry, type Registry } from '../../cloud/registry.js';
import { type CloudService, startCloudService } from '../../cloud/service.js';
import { b64uDecode, deriveSealKey, openCredential, topics } from '../../shared/index.js';
import { connectClient, waitFor } from '../support/mqtt.js';
import { testPileSpec } from '../support/pile-spec.js';

const PILES = 300;
const VEHICLES = ['V1', 'V2'];
const TOTAL = PILES * VEHICLES.length;
// small batches: many committed steps, so the first publish has many event-loop turns to arrive before the pass ends
const BATCH = 5;

const spec = testPileSpec();

describe('issuing pass in committed batches', () => {
  let dir: string;
  let admin: Registry;
  let auth: Registry;
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let service: CloudService | undefined;
  let observer: Database.Database; // another connection: sees committed rows only
  const keys: Record<string, Uint8Array> = {};
  const passwords: Record<string, string> = {};
  const clients: Awaited<ReturnType<typeof connectClient>>[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-issuance-'));
    admin = await openRegistry(dir);
    await admin.init();
    await admin.addPiles(
      Array.from({ length: PILES }, (_, i) => ({ pid: `P${String(i).padStart(4, '0')}`, spec })),
    );
    for (const vid of VEHICLES) {
      const p = await admin.addVehicle(vid, {
        mqttUrl: 'mqtt://127.0.0.1:1',
        wsUrl: 'ws://127.0.0.1:1/mqtt',
      });
      keys[vid] = b64uDecode(p.vehicleKey);
      passwords[vid] = p.mqtt.password;
      await admin.grant(vid, { scope: 'all' });
    }
    auth = await openRegistry(dir);
    broker = await startBroker({ mqttPort: 0, logins: new LoginView(join(dir, 'cloud.db')) });
    observer = new Database(join(dir, DB_FILE), { readonly: true });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync()));
    await service?.close();
    await broker?.close();
    observer?.close();
    await auth?.close();
    await admin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the first batches before the pass ends, and each credential only after its row is committed', async () => {
    const url = `mqtt://127.0.0.1:${broker.mqttPort}`;
    const ticketWithSealed = observer.prepare('SELECT tid FROM tickets WHERE sealed = ?');
    const ticketCount = observer.prepare('SELECT COUNT(*) AS n FROM tickets');
    let arrived = 0;
    let uncommitted = 0;
    let unopened = 0;
    let ticketsAtFirstArrival = -1;
    for (const vid of VEHICLES) {
      const client = await connectClient(url, `vehicle:${vid}`, passwords[vid]);
      client.on('message', (topic, payload) => {
        if (payload.length === 0) return;
        // checked the moment it arrives, on a connection that cannot see an open transaction
        if (ticketWithSealed.get(payload.toString()) === undefined) uncommitted++;
        if (ticketsAtFirstArrival < 0) ticketsAtFirstArrival = (ticketCount.get() as { n: number }).n;
        if (!openCredential(deriveSealKey(keys[vid]!, vid), topic, payload).ok) unopened++;
        arrived++;
      });
      await client.subscribeAsync(topics.credential(vid, '+'), { qos: 1 });
      clients.push(client);
    }

    service = await startCloudService({
      dataDir: dir,
      mqttUrl: url,
      pollIntervalMs: 60_000,
      issueBatch: BATCH,
    });
    await waitFor(() => arrived >= TOTAL || undefined, 20_000, `${TOTAL} credentials`);

    expect(arrived).toBe(TOTAL);
    expect(uncommitted).toBe(0);
    expect(unopened).toBe(0);
    expect(ticketsAtFirstArrival).toBeGreaterThan(0);
    expect(ticketsAtFirstArrival).toBeLessThan(TOTAL);
    expect((ticketCount.get() as { n: number }).n).toBe(TOTAL);
  });

  it('a later pass in small steps finds every pair done: nothing issued, nothing changed', async () => {
    await service?.flushed();
    const random = (n: number) => randomBytes(n);
    expect(
      await reconcile(admin, Date.now(), { ticketLifeSeconds: 7 * 24 * 3600, random, issueBatch: 7 }),
    ).toBe(0);
    expect((observer.prepare('SELECT COUNT(*) AS n FROM tickets').get() as { n: number }).n).toBe(TOTAL);
    const published = observer.prepare(
      "SELECT COUNT(*) AS n FROM retained WHERE topic LIKE '%/credentials/%'",
    );
    expect((published.get() as { n: number }).n).toBe(TOTAL);
  });
});
