#!/usr/bin/env -S npx tsx
/** evauth-cloud: the administrator's CLI over the registry (see docs/cloud.md). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseOcmfPublicKey } from '../node/receipt-signing.js';
import { parseBrokerUrls } from '../shared/index.js';
import {
  checkId,
  type ExportCliOptions,
  idArg,
  intArg,
  numArg,
  ocppEndpointOption,
  out,
  readIfPemFile,
  readReceiptFile,
  timeArg,
  UsageError,
} from './cli-args.js';
import { writeGatewayExport } from './export.js';
import { exportMosquitto } from './mosquitto.js';
import { DEFAULT_OCPP_PORT } from './ocpp-stations.js';
import { DB_FILE, openRegistry, type Registry, RegistryError } from './registry.js';
import { operatorSignKey } from './signing-keys.js';
import { describeReceipts, registeredSignKey, splitOcmfRecords, verifyReceipts } from './verify-receipt.js';
import { listRows, showEntity } from './views.js';

const program = new Command('evauth-cloud')
  .description('evauth cloud registry: vehicles, piles, gateways, grants, revocation and rotation')
  .option('--data <dir>', 'data folder', process.env.EVAUTH_DATA_DIR ?? '.evauth')
  .option(
    '--database-url <url>',
    'keep the registry in PostgreSQL (postgres://…) instead of <data>/cloud.db',
    process.env.EVAUTH_DATABASE_URL,
  )
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

function dataDir(): string {
  return program.opts<{ data: string }>().data;
}

function openDataRegistry(): Promise<Registry> {
  return openRegistry(dataDir(), { databaseUrl: program.opts<{ databaseUrl?: string }>().databaseUrl });
}

/** Opens an existing registry; a missing data folder is a user error, not something to create silently. */
async function withRegistry<T>(fn: (registry: Registry) => Promise<T>): Promise<T> {
  const dir = dataDir();
  const inPostgres = program.opts<{ databaseUrl?: string }>().databaseUrl !== undefined;
  if (!existsSync(inPostgres ? dir : join(dir, DB_FILE))) {
    throw new UsageError(`no evauth registry in ${dir} (run "evauth-cloud --data ${dir} init" first)`);
  }
  const registry = await openDataRegistry();
  try {
    if (!(await registry.isInitialised()))
      throw new UsageError(`registry in ${dir} is not initialised; run evauth-cloud init`);
    return await fn(registry);
  } finally {
    await registry.close();
  }
}

program
  .command('init')
  .description('create the data folder, cloud.db, master.key and the cloud service login (cloud.secret)')
  .action(async () => {
    const registry = await openDataRegistry();
    try {
      const { created } = await registry.init();
      out(created ? `initialised ${dataDir()}` : `${dataDir()} was already initialised`);
    } finally {
      await registry.close();
    }
  });

const vehicle = program.command('vehicle').description('vehicles');
vehicle
  .command('add <vid>')
  .description(
    'register a vehicle; prints its PROTOCOL §11 provisioning file and writes it to provisioning/vehicles/',
  )
  .option('--mqtt-url <urls>', 'broker URL (a cluster: every node, comma-separated)', 'mqtt://127.0.0.1:1883')
  .option('--ws-url <urls>', 'broker WebSocket URL (a cluster: every node)', 'ws://127.0.0.1:8083/mqtt')
  .option('--name <name>', 'display name', '')
  .action(async (vid: string, o: { mqttUrl: string; wsUrl: string; name: string }) => {
    checkId('vehicle id', vid);
    const urls = { mqttUrl: parseBrokerUrls(o.mqttUrl), wsUrl: parseBrokerUrls(o.wsUrl), name: o.name };
    out(await withRegistry((r) => r.addVehicle(vid, urls)));
  });

const pile = program.command('pile').description('charging piles');
pile
  .command('add <pid>')
  .description('register a pile with a new root key; prints its keystore entry (PROTOCOL §11)')
  .requiredOption('--site <site>', 'site name (grants can cover a whole site)')
  .option('--gateway <gid>', 'gateway that serves the pile', idArg('gateway id'))
  .option('--name <name>', 'display name')
  .option('--address <address>', 'street address', '')
  .option('--lat <lat>', 'latitude', numArg, 0)
  .option('--lon <lon>', 'longitude', numArg, 0)
  .option('--connectors <n>', 'number of connectors', intArg(1, 64), 2)
  .option('--max-power <watts>', 'maximum power per connector in W', intArg(1, 10_000_000), 150000)
  .option('--price <perKWh>', 'tariff per kWh (decimal)', '0.39')
  .option('--currency <code>', 'ISO 4217 currency', 'EUR')
  .option(
    '--sign-key <key>',
    'the public key of a P-256 receipt signing key made on the pile (SEC1 base64url or hex, or PEM); default: the cloud makes one',
  )
  .option('--ocpp-station <id>', 'its charger is this OCPP charging station (default: the simulator)')
  .action(async (pid: string, o) => {
    checkId('pile id', pid);
    // checked before the registry is opened: a bad key stores nothing
    const signKey = o.signKey !== undefined ? operatorSignKey(o.signKey) : undefined;
    out(
      await withRegistry((r) =>
        r.addPile(pid, {
          ...(signKey !== undefined ? { signKey } : {}),
          ...(o.gateway ? { gid: o.gateway } : {}),
          site: o.site,
          name: o.name ?? pid,
          address: o.address,
          lat: o.lat,
          lon: o.lon,
          connectors: Array.from({ length: o.connectors }, (_, i) => ({ id: i + 1, maxW: o.maxPower })),
          pricePerKWh: o.price,
          currency: o.currency,
          ...(o.ocppStation !== undefined ? { ocppStation: o.ocppStation } : {}),
        }),
      ),
    );
  });
pile
  .command('set-charger <pid>')
  .description(
    'say what charges at the pile: an OCPP station (its password is made once and kept) or the simulator; prints the config entry',
  )
  .addOption(new Option('--ocpp <stationId>', 'the OCPP charging station').conflicts(['simulator']))
  .option('--simulator', 'the simulated charger')
  .option('--new-password', 'give the station a new password (then configure the station and re-export)')
  .action(async (pid: string, o: { ocpp?: string; simulator?: boolean; newPassword?: boolean }) => {
    checkId('pile id', pid);
    if (o.ocpp === undefined && !o.simulator)
      throw new UsageError('say which charger: --ocpp <stationId> or --simulator');
    const entry = await withRegistry((r) =>
      r.setPileCharger(pid, o.ocpp ?? null, { newPassword: o.newPassword ?? false }),
    );
    out(entry ?? { kind: 'simulator' });
  });

pile
  .command('rotate-sign-key <pid>')
  .description(
    "give a pile a new receipt signing key (PROTOCOL §8a); its vehicles get new credentials, its gateway's keystore must be exported again",
  )
  .option('--sign-key <key>', 'the public key of a P-256 key made on the pile (default: the cloud makes one)')
  .action(async (pid: string, o: { signKey?: string }) => {
    checkId('pile id', pid);
    const signKey = o.signKey !== undefined ? operatorSignKey(o.signKey) : undefined;
    const rotated = await withRegistry(async (r) => ({
      ...(await r.rotateSignKey(pid, signKey !== undefined ? { signKey } : {})),
      gid: (await r.requirePile(pid)).gid,
    }));
    out(`pile ${pid}: signKey ${rotated.previous ?? '(none)'} -> ${rotated.current}`);
    out(
      rotated.made
        ? `re-export needed: run "evauth-cloud gateway export ${rotated.gid ?? '<gid>'}" and restart that gateway, so the pile signs with the new key`
        : 'install the new private key in the keystore entry of the pile ("signingKey") and restart its gateway',
    );
  });

const gateway = program.command('gateway').description('pile gateways');
gateway
  .command('add <gid>')
  .description('register a gateway (its login is created by "gateway export")')
  .option('--name <name>', 'display name', '')
  .action(async (gid: string, o: { name: string }) => {
    checkId('gateway id', gid);
    await withRegistry((r) => r.addGateway(gid, { name: o.name }));
    out(`gateway ${gid} added`);
  });
gateway
  .command('export <gid>')
  .description('write the gateway config.json and keystore.json (docs/architecture.md)')
  .option('--mqtt-url <urls>', 'broker URL (a cluster: every node, comma-separated)', 'mqtt://127.0.0.1:1883')
  .option('--out <dir>', 'output folder (default <data>/gateways/<gid>)')
  .option('--http-port <port>', 'gateway HTTP port (/healthz, /metrics)', intArg(0, 65535), 9464)
  .option('--ocpp-host <host>', 'address the OCPP endpoint listens on (stations reach it there)')
  .option('--ocpp-port <port>', `OCPP endpoint port (default ${DEFAULT_OCPP_PORT})`, intArg(0, 65535))
  .option('--ocpp-tls-cert <file>', 'wss:// (security profile 2): certificate PEM, relative to the config')
  .option('--ocpp-tls-key <file>', 'its private key PEM, relative to the config')
  .action(async (gid: string, o: ExportCliOptions) => {
    checkId('gateway id', gid);
    const ocpp = ocppEndpointOption(o);
    const configPath = await withRegistry((r) =>
      writeGatewayExport(r, gid, {
        mqttUrl: parseBrokerUrls(o.mqttUrl),
        outDir: o.out ?? join(dataDir(), 'gateways', gid),
        httpPort: o.httpPort,
        ...(ocpp ? { ocpp } : {}),
      }),
    );
    out(configPath);
  });

program
  .command('grant <vid>')
  .description('entitle a vehicle to a pile, a site or all piles; the service then issues its credentials')
  .addOption(new Option('--pile <pid>', 'one pile').argParser(idArg('pile id')).conflicts(['site', 'all']))
  .addOption(new Option('--site <site>', 'every pile of a site').conflicts(['all']))
  .option('--all', 'every pile')
  .option('--from <time>', 'valid from (Unix seconds or ISO date; default now)', timeArg)
  .option('--until <time>', 'valid until (default: open-ended)', timeArg)
  .option('--max-wh <wh>', 'energy cap per ticket in Wh', intArg(1, Number.MAX_SAFE_INTEGER))
  .action(async (vid: string, o) => {
    checkId('vehicle id', vid);
    const scope = o.pile ? 'pile' : o.site !== undefined ? 'site' : o.all ? 'all' : undefined;
    if (!scope) throw new UsageError('say what to grant: --pile <pid>, --site <site> or --all');
    const id = await withRegistry((r) =>
      r.grant(vid, {
        scope,
        ...(o.pile ? { target: o.pile } : o.site !== undefined ? { target: o.site } : {}),
        ...(o.from !== undefined ? { nbf: o.from } : {}),
        ...(o.until !== undefined ? { exp: o.until } : {}),
        ...(o.maxWh !== undefined ? { maxWh: o.maxWh } : {}),
      }),
    );
    out(`grant ${id}: ${vid} -> ${scope}${o.pile ? ` ${o.pile}` : o.site !== undefined ? ` ${o.site}` : ''}`);
  });

program
  .command('revoke')
  .description('revoke a ticket, a vehicle (login, grants, tickets) or a grant')
  .addOption(new Option('--ticket <tid>', 'ticket id').conflicts(['vehicle', 'grant']))
  .addOption(new Option('--vehicle <vid>', 'vehicle id').argParser(idArg('vehicle id')).conflicts(['grant']))
  .addOption(new Option('--grant <id>', 'grant id').argParser(intArg(1, Number.MAX_SAFE_INTEGER)))
  .action(async (o: { ticket?: string; vehicle?: string; grant?: number }) => {
    await withRegistry((r) => {
      if (o.ticket) return r.revokeTicket(o.ticket);
      if (o.vehicle) return r.revokeVehicle(o.vehicle);
      if (o.grant !== undefined) return r.revokeGrant(o.grant);
      throw new UsageError('say what to revoke: --ticket <tid>, --vehicle <vid> or --grant <id>');
    });
    out('revoked');
  });

program
  .command('rotate <pid>')
  .description("raise a pile's root key offset; the old one stays accepted until its last ticket expires")
  .action(async (pid: string) => {
    checkId('pile id', pid);
    const { previous, current } = await withRegistry((r) => r.rotate(pid));
    out(`pile ${pid}: key offset ${previous} -> ${current}`);
  });

program
  .command('list <what>')
  .description('list vehicles | piles | gateways | grants | tickets | audit')
  .option('--json', 'JSON output')
  .action(async (what: string, o: { json?: boolean }) => {
    out(await withRegistry((r) => listRows(r, what, Boolean(o.json))));
  });

program
  .command('show <kind> <id>')
  .description('show one vehicle | pile | gateway | grant | ticket')
  .action(async (kind: string, id: string) => {
    out(await withRegistry((r) => showEntity(r, kind, id)));
  });

program
  .command('export-mosquitto <dir>')
  .description("write a Mosquitto 2 config with the registry's logins and rights (docs/mosquitto.md)")
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option('--mqtt-port <port>', 'MQTT port', intArg(1, 65535), 1883)
  .option('--ws-port <port>', 'WebSocket port', intArg(1, 65535), 8083)
  .option('--run-as <user>', 'Mosquitto "user" option (the account it drops root to)')
  .option('--plugin <path>', 'path of mosquitto_dynamic_security.so')
  .action(async (dir: string, o) => {
    const files = await withRegistry((r) =>
      exportMosquitto(r, dir, {
        host: o.host,
        mqttPort: o.mqttPort,
        wsPort: o.wsPort,
        ...(o.runAs ? { runAsUser: o.runAs } : {}),
        ...(o.plugin ? { pluginPath: o.plugin } : {}),
      }),
    );
    out(files.join('\n'));
  });

program
  .command('verify-receipt <file>')
  .description(
    'check signed OCMF receipts (PROTOCOL §8a) under a pile\'s key: one record or several, one per line; "-" reads stdin',
  )
  .addOption(
    new Option('--pile <pid>', "take the pile's signKey from the registry")
      .argParser(idArg('pile id'))
      .conflicts('signKey'),
  )
  .option(
    '--sign-key <key>',
    'the public key: SEC1 in base64url or hex (P-256: the signKey), PEM text, or the path of a PEM file',
  )
  .action(async (file: string, o: { pile?: string; signKey?: string }) => {
    if (o.pile === undefined && o.signKey === undefined)
      throw new UsageError('say whose key to verify with: --pile <pid> or --sign-key <key>');
    const keyText =
      o.pile !== undefined ? await withRegistry((r) => registeredSignKey(r, o.pile!)) : o.signKey!;
    const key = parseOcmfPublicKey(o.pile === undefined ? readIfPemFile(keyText) : keyText);
    if (!key.ok) {
      const problem = key.message.slice(key.field.length + 2); // the message is "<field>: <problem>"
      throw new UsageError(
        `${o.pile !== undefined ? `pile ${o.pile}'s registered signKey` : '--sign-key'} ${problem}`,
      );
    }
    const { records, stray } = splitOcmfRecords(await readReceiptFile(file));
    if (stray !== undefined) throw new UsageError(`${file}: line ${stray} is not an OCMF record (OCMF|…|…)`);
    if (records.length === 0) throw new UsageError(`${file} holds no OCMF record`);
    const verdicts = verifyReceipts(records, key.value, o.pile !== undefined ? { pid: o.pile } : {});
    out(describeReceipts(verdicts).join('\n'));
    const invalid = verdicts.filter((v) => v.failure).length;
    if (invalid) {
      process.stderr.write(`error: ${invalid} of ${verdicts.length} records did not verify\n`);
      process.exitCode = 1;
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander already printed its message (or the help)
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (
    err instanceof RegistryError ||
    err instanceof UsageError ||
    err instanceof InvalidArgumentError
  ) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = err instanceof RegistryError && err.code === 'NOT_FOUND' ? 3 : 2;
  } else {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.EVAUTH_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}
