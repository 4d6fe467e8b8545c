/**
 * Broker logins under attack (issue #13 finding 1): how long a genuine vehicle's first login (CONNECT → CONNACK,
 * its password checked with scrypt) takes while an unauthenticated client floods the broker with wrong-password
 * CONNECTs at 40/s from another address (127.0.0.2), against the same logins without the flood; a remembered
 * login's reconnect; the same flood from the genuine client's own address (a NAT: the login gate's per-source
 * throttling falls on it too); and how many fresh logins per second the broker sustains (successful CONNACKs, 16
 * at a time, before any flood).
 */
import net from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { clientIdPrefixOf } from '../../shared/index.js';
import { loadavg } from '../lib/machine.js';
import { type LatencySummary, summarize } from '../lib/stats.js';
import { createFleet, removeFleet, startBrokerProcess } from '../lib/system.js';

export interface LoginsResult {
  floodPerS: number;
  /** wrong-password CONNECTs sent during the measured flood */
  badLoginsSent: number;
  /** a genuine vehicle's first login, no flood */
  genuineQuietMs: LatencySummary;
  /** a genuine vehicle's first login during the flood (each from the same address as the flood) */
  genuineDuringFloodMs: LatencySummary;
  /** genuine logins during the flood that were refused or not answered in 5 s */
  genuineFailedDuringFlood: number;
  /** a genuine vehicle's first login while the flood comes from its own address (a NAT) */
  sharedAddressMs: LatencySummary;
  /** of those, refused at once (the gate's back-off or full queue) or not answered in 5 s: a retry gets through */
  sharedAddressFailed: number;
  /** a login the broker verified before (remembered: no scrypt), during the flood */
  rememberedDuringFloodMs: LatencySummary;
  /** fresh logins the broker sustains, no flood */
  loginsPerS: number;
  loadavg1: number;
  error?: string;
}

interface Login {
  username: string;
  password: string;
}

/** A client id the broker accepts for this login (it must carry the login's identity). */
const idFor = (username: string, suffix: string) => `${clientIdPrefixOf(username) ?? 'x-'}${suffix}`;

/** CONNECT → CONNACK in ms, or undefined when refused or unanswered within 5 s. */
async function timeLogin(url: string, login: Login, suffix: string): Promise<number | undefined> {
  const t0 = performance.now();
  try {
    const client = await mqtt.connectAsync(url, {
      clientId: idFor(login.username, suffix),
      username: login.username,
      password: login.password,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    const ms = performance.now() - t0;
    await client.endAsync(true);
    return ms;
  } catch {
    return undefined;
  }
}

/** Wrong-password CONNECTs at `perS` from `localAddress`, each on its own connection, until stopped. */
function badLoginFlood(port: number, localAddress: string, usernames: string[], perS: number) {
  let sent = 0;
  const sockets = new Set<net.Socket>();
  const timer = setInterval(() => {
    const username = usernames[sent % usernames.length]!;
    sent++;
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    sockets.add(socket);
    const done = () => {
      sockets.delete(socket);
      socket.destroy();
    };
    socket.setTimeout(5000, done);
    socket.on('error', done);
    socket.on('close', done);
    socket.on('data', done); // the CONNACK (refused)
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepalive: 0,
        clientId: idFor(username, `flood-${sent}`),
        username,
        password: Buffer.from(`wrong-${sent}`),
      }),
    );
  }, 1000 / perS);
  return {
    get sent() {
      return sent;
    },
    stop() {
      clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    },
  };
}

export async function loginsScenario(options: {
  quick: boolean;
  log?: (line: string) => void;
}): Promise<LoginsResult> {
  const log = options.log ?? (() => {});
  const samples = options.quick ? 10 : 40;
  const rateLogins = options.quick ? 64 : 256;
  const floodPerS = 40;
  // Fresh vehicles for each measurement: a login the broker verified before is remembered and skips scrypt.
  const fleet = await createFleet({ piles: 1, vehicles: 3 * samples + rateLogins + 1 });
  const logins: Login[] = fleet.vehicles.map((v) => ({ username: v.username, password: v.password }));
  const quiet = logins.slice(0, samples);
  const during = logins.slice(samples, 2 * samples);
  const shared = logins.slice(2 * samples, 3 * samples);
  const remembered = logins[3 * samples]!;
  const forRate = logins.slice(3 * samples + 1);
  // Wrong passwords for real vehicles' usernames and invented ones.
  const floodNames = [...logins.slice(0, 8).map((l) => l.username), 'vehicle:NOBODY', 'gateway:nobody'];
  const result: LoginsResult = {
    floodPerS,
    badLoginsSent: 0,
    genuineQuietMs: summarize([]),
    genuineDuringFloodMs: summarize([]),
    genuineFailedDuringFlood: 0,
    sharedAddressMs: summarize([]),
    sharedAddressFailed: 0,
    rememberedDuringFloodMs: summarize([]),
    loginsPerS: 0,
    loadavg1: loadavg()[0],
  };
  const broker = await startBrokerProcess(fleet, 'aedes');
  /** First logins of `group` one after another (100 ms apart); the times of those that got in, and the rest. */
  const firstLogins = async (group: Login[], tag: string, between?: () => Promise<void>) => {
    const ms: number[] = [];
    let failed = 0;
    for (const [i, login] of group.entries()) {
      const t = await timeLogin(broker.url, login, `${tag}-${i}`);
      if (t === undefined) failed++;
      else ms.push(t);
      await between?.();
      await new Promise((r) => setTimeout(r, 100));
    }
    return { ms, failed };
  };
  try {
    result.genuineQuietMs = summarize((await firstLogins(quiet, 'quiet')).ms);
    if ((await timeLogin(broker.url, remembered, 'remembered')) === undefined)
      throw new Error('the remembered vehicle could not log in');

    // Sustained rate: fresh logins, 16 in flight at a time, before any failure is on record.
    let next = 0;
    let ok = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < forRate.length) {
          const i = next++;
          if ((await timeLogin(broker.url, forRate[i]!, `rate-${i}`)) !== undefined) ok++;
        }
      }),
    );
    result.loginsPerS = Math.round((ok / (performance.now() - t0)) * 1000);

    const elsewhere = badLoginFlood(broker.mqttPort, '127.0.0.2', floodNames, floodPerS);
    const rememberedMs: number[] = [];
    try {
      await new Promise((r) => setTimeout(r, 2000)); // the flood reaches its pace first
      const measured = await firstLogins(during, 'during', async () => {
        const again = await timeLogin(broker.url, remembered, 'remembered');
        if (again !== undefined) rememberedMs.push(again);
      });
      result.genuineDuringFloodMs = summarize(measured.ms);
      result.genuineFailedDuringFlood = measured.failed;
      result.rememberedDuringFloodMs = summarize(rememberedMs);
    } finally {
      elsewhere.stop();
    }
    const sameAddress = badLoginFlood(broker.mqttPort, '127.0.0.1', floodNames, floodPerS);
    try {
      await new Promise((r) => setTimeout(r, 2000));
      const measured = await firstLogins(shared, 'shared');
      result.sharedAddressMs = summarize(measured.ms);
      result.sharedAddressFailed = measured.failed;
    } finally {
      sameAddress.stop();
    }
    result.badLoginsSent = elsewhere.sent + sameAddress.sent;
    const d = result.genuineDuringFloodMs;
    log(
      `  genuine first login: quiet p50 ${result.genuineQuietMs.p50} ms; during ${floodPerS}/s bad logins from another address p50 ${d.p50} ms, max ${d.max} ms, ${result.genuineFailedDuringFlood} failed (${result.badLoginsSent} bad logins sent in all)`,
    );
    log(
      `  remembered login during the flood p50 ${result.rememberedDuringFloodMs.p50} ms; flood from its own address: p50 ${result.sharedAddressMs.p50} ms, ${result.sharedAddressFailed}/${shared.length} refused at once; ${result.loginsPerS} fresh logins/s sustained (${ok}/${forRate.length})`,
    );
  } catch (error) {
    result.error = (error as Error).message.slice(0, 2000);
    log(`  logins failed: ${result.error}`);
  } finally {
    await broker.service.stop();
    await removeFleet(fleet);
  }
  result.loadavg1 = loadavg()[0];
  return result;
}
