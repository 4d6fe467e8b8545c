/**
 * `evauth-cloud export-mosquitto DIR`: the same logins and PROTOCOL §9 rights for Debian's Mosquitto 2.
 *
 * Mosquitto's password file cannot hold our usernames: it splits each line at the first ':' and
 * `mosquitto_passwd` refuses such names, while docs/architecture.md fixes `vehicle:{vid}` and `gateway:{gid}`.
 * The export therefore uses Mosquitto's dynamic-security plugin (shipped in Debian's package), whose JSON
 * holds the same PBKDF2-SHA512 hashes ($7$ format: salt, 101 iterations) and one role per client built from
 * broker/rights.ts. An `acl` file in Mosquitto's ACL-file syntax is written beside it for review.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MAX_CONTROL_PAYLOAD_BYTES, type Principal, parseUsername, rightsOf } from '../shared/index.js';
import { DYNSEC_COMMAND_TOPIC } from './dynsec-revocations.js';
import type { Registry } from './registry.js';

export interface MosquittoExportOptions {
  host?: string;
  mqttPort?: number;
  wsPort?: number;
  /** Mosquitto drops root privileges to this user (its `user` option); default: Mosquitto's own default */
  runAsUser?: string;
  pluginPath?: string;
  maxPacketBytes?: number;
}

/** a pile.control payload (PROTOCOL §7, 256 KiB) with its topic and headers */
export const MOSQUITTO_MAX_PACKET_BYTES = MAX_CONTROL_PAYLOAD_BYTES + 1024;

const PLUGIN_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/mosquitto_dynamic_security.so',
  '/usr/local/lib/mosquitto_dynamic_security.so',
];

/** Every login that may connect now (not a revoked vehicle's), with its rights' principal and Mosquitto hash. */
function principals(registry: Registry): Promise<{ username: string; principal: Principal; hash: string }[]> {
  return registry.store.read(async (tx) => {
    const out: { username: string; principal: Principal; hash: string }[] = [];
    for (const login of await tx.logins()) {
      const parsed = parseUsername(login.username);
      if (!parsed) continue;
      if (parsed.kind === 'vehicle') {
        const vehicle = await tx.vehicle(parsed.vid);
        if (!vehicle || vehicle.revoked_at !== null) continue;
      }
      const principal: Principal =
        parsed.kind === 'gateway'
          ? {
              kind: 'gateway',
              gid: parsed.gid,
              piles: new Set((await tx.pilesOfGateway(parsed.gid)).map((p) => p.pid)),
            }
          : parsed;
      out.push({ username: login.username, principal, hash: login.mosquitto_hash });
    }
    return out;
  });
}

/** `$7$<iterations>$<b64 salt>$<b64 hash>` → the dynamic-security client fields. */
function dynsecPassword(hash: string): { password: string; salt: string; iterations: number } {
  const [, kind, iterations, salt, password] = hash.split('$');
  if (kind !== '7' || !salt || !password) throw new Error('stored Mosquitto hash is not in $7$ form');
  return { password, salt, iterations: Number(iterations) };
}

/**
 * What a client may receive. Only what it subscribed to reaches it, and it may subscribe only as `subscribe`
 * allows, so receiving is already bounded by the subscribe ACLs; receive ACLs are the second lock. A gateway's
 * subscribe list holds two exact topics per pile, and dynsec would walk thousands of them for every message the
 * gateway gets (over half of Mosquitto's CPU at 1,000 sessions/s); its receive ACLs are those topics with the pile
 * as `+`, while its subscriptions stay exact.
 */
function receiveTopics(principal: Principal, subscribe: string[]): string[] {
  if (principal.kind !== 'gateway') return subscribe;
  return [...new Set(subscribe.map((topic) => topic.replace(/(^|\/)piles\/[^/+#]+\//, '$1piles/+/')))];
}

export async function exportMosquitto(
  registry: Registry,
  dir: string,
  options: MosquittoExportOptions = {},
): Promise<string[]> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const abs = resolve(dir);
  const clients = await principals(registry);
  const roles = clients.map(({ username, principal }) => {
    const rights = rightsOf(principal);
    return {
      rolename: `evauth-${username.replace(':', '-')}`,
      acls: [
        ...rights.subscribe.map((topic) => ({
          acltype: 'subscribePattern',
          topic,
          priority: 0,
          allow: true,
        })),
        ...receiveTopics(principal, rights.subscribe).map((topic) => ({
          acltype: 'publishClientReceive',
          topic,
          priority: 0,
          allow: true,
        })),
        // dynsec checks a role's ACLs one by one, highest priority first: the few patterns (a gateway's
        // vehicles/+/auth and vehicles/+/session, most of what it sends) before thousands of exact pile topics.
        ...rights.publish.map((topic) => ({
          acltype: 'publishClientSend',
          topic,
          priority: /[+#]/.test(topic) ? 1 : 0,
          allow: true,
        })),
        // the cloud disables a revoked vehicle's login at once (dynsec-revocations.ts)
        ...(principal.kind === 'cloud'
          ? [{ acltype: 'publishClientSend', topic: DYNSEC_COMMAND_TOPIC, priority: 0, allow: true }]
          : []),
      ],
    };
  });
  const dynsec = {
    defaultACLAccess: {
      publishClientSend: false,
      publishClientReceive: false,
      subscribe: false,
      unsubscribe: true,
    },
    clients: clients.map(({ username, hash }, i) => ({
      username,
      textname: username,
      roles: [{ rolename: roles[i]!.rolename }],
      ...dynsecPassword(hash),
    })),
    groups: [],
    roles,
  };
  const acl = clients
    .map(({ username, principal }) => {
      const rights = rightsOf(principal);
      return [
        `user ${username}`,
        ...rights.subscribe.map((t) => `topic read ${t}`),
        ...rights.publish.map((t) => `topic write ${t}`),
        ...(principal.kind === 'cloud' ? [`topic write ${DYNSEC_COMMAND_TOPIC}`] : []),
        '',
      ].join('\n');
    })
    .join('\n');
  const plugin = options.pluginPath ?? PLUGIN_CANDIDATES.find((p) => existsSync(p)) ?? PLUGIN_CANDIDATES[0]!;
  const host = options.host ?? '127.0.0.1';
  const conf = [
    '# Written by evauth-cloud export-mosquitto; logins and PROTOCOL §9 rights from the evauth registry.',
    '# Mosquitto cannot refuse a retained publish per client: piles ignore retained messages on auth topics.',
    ...(options.runAsUser ? [`user ${options.runAsUser}`] : []),
    'per_listener_settings false',
    'allow_anonymous false',
    'set_tcp_nodelay true',
    // One gateway connection carries a whole site's handshakes. Mosquitto's defaults (20 QoS-1 messages in
    // flight to a client, 1,000 queued, the rest dropped) lose handshakes in a burst of ~2,000/s; these bound
    // a client's queue at ~20,000 messages (≤ 8 KiB each) instead.
    'max_inflight_messages 1000',
    'max_queued_messages 20000',
    // Mosquitto has one packet limit for every client: the cloud's pile.control may be 256 KiB (PROTOCOL §7), so
    // this is 256 KiB + 1 KiB for all (aedes raises it for the cloud's login alone).
    `max_packet_size ${options.maxPacketBytes ?? MOSQUITTO_MAX_PACKET_BYTES}`,
    'max_keepalive 600',
    'persistence false',
    `plugin ${plugin}`,
    `plugin_opt_config_file ${join(abs, 'dynamic-security.json')}`,
    '',
    `listener ${options.mqttPort ?? 1883} ${host}`,
    'protocol mqtt',
    'max_connections 10000',
    '',
    `listener ${options.wsPort ?? 8083} ${host}`,
    'protocol websockets',
    'max_connections 10000',
    '',
  ].join('\n');
  const files = {
    'mosquitto.conf': conf,
    'dynamic-security.json': `${JSON.stringify(dynsec, null, 2)}\n`,
    acl,
  };
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(abs, name), content, { mode: 0o600 });
  await registry.audit('cli', 'export-mosquitto', abs, { clients: clients.length });
  return Object.keys(files).map((name) => join(abs, name));
}
