/**
 * What a Dolev-Yao attacker makes of the messages it has seen, without any key but its own vehicle's AK: replays,
 * splices of fields between sessions, truncations, sid/r1/r3 swaps, and forgeries (made-up requests in a victim's
 * name, wrong proofs, unMACed aborts and stops; with a gateway's rights also made-up challenges, errors, results,
 * readings and receipts towards a vehicle). Pure: every choice comes from the Seeded source.
 */
import {
  b64uEncode,
  buildAuthRequest,
  parseTopic,
  topics,
  type VehicleCredential,
} from '../../shared/index.js';
import { issueTestCredential } from '../../shared/testing.js';
import type { Seeded } from './seeded.js';

export type Message = Record<string, unknown>;

/** A message the attacker saw (or sent itself), as it crossed the broker. */
export interface Observed {
  topic: string;
  text: string;
  message: Message | undefined;
}

/** One message the attacker publishes. */
export interface Injection {
  op: string;
  topic: string;
  payload: string;
}

export interface AttackContext {
  rng: Seeded;
  /** the piles it may name (all of the site's, public in the directory) */
  piles: readonly string[];
  /** the genuine vehicles' ids: public names, so the worst case is that it knows them */
  victims: readonly string[];
  ownVid: string;
  /** its own credential (for its own pile): it may MAC with this AK, and only with this one */
  ownCredential: VehicleCredential | undefined;
  /** with a gateway's rights it may publish on vehicles/+/auth and vehicles/+/session */
  reachesVehicles: boolean;
  seen: readonly Observed[];
  nowS: number;
}

/** Base64url of 16 bytes (sid, r1, r3): what "targets a sid" means when a run classifies genuine sessions. */
export const SID_TOKEN = /[A-Za-z0-9_-]{22}/g;

const rand = (ctx: AttackContext, n: number) => b64uEncode(ctx.rng.bytes(n));

/** Whether the attacker's logins may publish on this topic (PROTOCOL §9). */
export function mayPublish(ctx: AttackContext, topic: string): boolean {
  const kind = parseTopic(topic)?.kind;
  return (
    kind === 'pileAuth' || (ctx.reachesVehicles && (kind === 'vehicleAuth' || kind === 'vehicleSession'))
  );
}

/** Where a message may go: its own topic when allowed, else (or sometimes) another pile's or victim's topic. */
function retarget(ctx: AttackContext, topic: string): string {
  const parsed = parseTopic(topic);
  if (parsed?.kind === 'pileAuth' && ctx.rng.chance(0.3)) return topics.pileAuth(ctx.rng.pick(ctx.piles));
  if ((parsed?.kind === 'vehicleAuth' || parsed?.kind === 'vehicleSession') && ctx.reachesVehicles) {
    const vid = ctx.rng.chance(0.7) ? ctx.rng.pick(ctx.victims) : parsed.vid;
    return parsed.kind === 'vehicleAuth' ? topics.vehicleAuth(vid) : topics.vehicleSession(vid);
  }
  return mayPublish(ctx, topic) ? topic : topics.pileAuth(ctx.rng.pick(ctx.piles));
}

/** Sids the attacker has seen, with the pile and vehicle they belong to where it can tell. */
export function seenSids(ctx: AttackContext): { sid: string; pid: string; vid: string | undefined }[] {
  const out: { sid: string; pid: string; vid: string | undefined }[] = [];
  for (const o of ctx.seen) {
    const sid = o.message?.sid;
    if (typeof sid !== 'string') continue;
    const t = parseTopic(o.topic);
    const pid =
      typeof o.message?.pid === 'string' ? o.message.pid : t?.kind === 'pileAuth' ? t.pid : ctx.piles[0]!;
    const vid =
      typeof o.message?.vid === 'string'
        ? o.message.vid
        : t?.kind === 'vehicleAuth' || t?.kind === 'vehicleSession'
          ? t.vid
          : undefined;
    out.push({ sid, pid, vid });
  }
  return out;
}

function withMessages(ctx: AttackContext): (Observed & { message: Message })[] {
  return ctx.seen.filter((o): o is Observed & { message: Message } => o.message !== undefined);
}

export function replay(ctx: AttackContext): Injection | undefined {
  if (ctx.seen.length === 0) return undefined;
  const o = ctx.rng.pick(ctx.seen);
  return { op: 'replay', topic: retarget(ctx, o.topic), payload: o.text };
}

/** A field of one session's message put into another session's message of the same type. */
export function splice(ctx: AttackContext): Injection | undefined {
  const all = withMessages(ctx);
  if (all.length < 2) return undefined;
  const a = ctx.rng.pick(all);
  const same = all.filter((o) => o.message.type === a.message.type && o.text !== a.text);
  const b = same.length > 0 ? ctx.rng.pick(same) : ctx.rng.pick(all);
  const fields = Object.keys(b.message).filter((k) => k !== 'v' && k !== 'type');
  if (fields.length === 0) return undefined;
  const field = ctx.rng.pick(fields);
  const spliced = { ...a.message, [field]: b.message[field] };
  return { op: `splice:${field}`, topic: retarget(ctx, a.topic), payload: JSON.stringify(spliced) };
}

/** A message cut short (bytes) or missing a field. */
export function truncate(ctx: AttackContext): Injection | undefined {
  if (ctx.seen.length === 0) return undefined;
  const o = ctx.rng.pick(ctx.seen);
  const topic = retarget(ctx, o.topic);
  if (o.message && ctx.rng.chance(0.5)) {
    const fields = Object.keys(o.message);
    const drop = ctx.rng.pick(fields);
    const { [drop]: _, ...rest } = o.message;
    return { op: `drop:${drop}`, topic, payload: JSON.stringify(rest) };
  }
  return { op: 'truncate', topic, payload: o.text.slice(0, ctx.rng.int(0, Math.max(0, o.text.length - 1))) };
}

/** sid, r1 and r3 swapped with each other or with another session's. */
export function swapIds(ctx: AttackContext): Injection | undefined {
  const all = withMessages(ctx).filter((o) => typeof o.message.sid === 'string');
  if (all.length === 0) return undefined;
  const o = ctx.rng.pick(all);
  const m: Message = { ...o.message };
  const own = ['sid', 'r1', 'r3'].filter((k) => typeof m[k] === 'string');
  const sids = seenSids(ctx).map((s) => s.sid);
  if (own.length >= 2 && ctx.rng.chance(0.5)) {
    const x = ctx.rng.pick(own);
    const y = ctx.rng.pick(own.filter((k) => k !== x));
    [m[x], m[y]] = [m[y], m[x]];
    return { op: `swap:${x}/${y}`, topic: retarget(ctx, o.topic), payload: JSON.stringify(m) };
  }
  const field = ctx.rng.pick(own);
  m[field] = ctx.rng.pick(sids);
  return { op: `other-sid:${field}`, topic: retarget(ctx, o.topic), payload: JSON.stringify(m) };
}

/** A request in a victim's name: a ticket made up under a key of its own, or its own ticket with a victim's vid. */
export function madeUpRequest(ctx: AttackContext): Injection {
  const victim = ctx.rng.pick(ctx.victims);
  const pid = ctx.rng.pick(ctx.piles);
  const own = ctx.ownCredential;
  const useOwn = own !== undefined && ctx.rng.chance(0.3);
  const credential = useOwn
    ? own
    : issueTestCredential(
        ctx.rng.bytes(32),
        { vid: victim, pid, off: 0, iat: ctx.nowS, nbf: ctx.nowS, exp: ctx.nowS + 3600 },
        ctx.rng.bytes,
      );
  const request = buildAuthRequest(credential.ak, {
    sid: ctx.rng.bytes(16),
    r1: ctx.rng.bytes(16),
    vid: victim,
    pid,
    connector: ctx.rng.int(1, 2),
    ticket: credential.ticket,
    ts: ctx.nowS,
  });
  return {
    op: useOwn ? 'forge:request-own-ticket' : 'forge:request-made-up-ticket',
    topic: topics.pileAuth(pid),
    payload: JSON.stringify(request),
  };
}

/** A message for a sid it saw (or a random one), with a MAC or proof it cannot compute. */
export function forgeForSid(ctx: AttackContext): Injection {
  const known = seenSids(ctx);
  const target =
    known.length > 0 && ctx.rng.chance(0.8)
      ? ctx.rng.pick(known)
      : { sid: rand(ctx, 16), pid: ctx.rng.pick(ctx.piles), vid: ctx.rng.pick(ctx.victims) };
  const { sid, pid } = target;
  const vid = target.vid ?? ctx.rng.pick(ctx.victims);
  const toPile = (op: string, m: Message): Injection => ({
    op,
    topic: topics.pileAuth(pid),
    payload: JSON.stringify({ v: 1, ...m, sid }),
  });
  const kinds = ['response', 'abort', 'stop'];
  if (ctx.reachesVehicles) kinds.push('challenge', 'error', 'result', 'meter', 'end');
  const kind = ctx.rng.pick(kinds);
  const toVehicle = (m: Message, session = false): Injection => ({
    op: `forge:${kind}`,
    topic: session ? topics.vehicleSession(vid) : topics.vehicleAuth(vid),
    payload: JSON.stringify({ v: 1, ...m, sid }),
  });
  const mac = rand(ctx, 32);
  switch (kind) {
    case 'response':
      return toPile('forge:response', { type: 'auth.response', proof: mac });
    case 'abort':
      return toPile('forge:abort', { type: 'auth.abort', reason: 'OFFER_DECLINED', mac });
    case 'stop':
      return toPile('forge:stop', { type: 'session.stop', seq: ctx.rng.int(1, 1000), mac });
    case 'challenge':
      return toVehicle({
        type: 'auth.challenge',
        pid,
        r3: rand(ctx, 16),
        proof: mac,
        offer: { n: rand(ctx, 24), c: rand(ctx, 80) },
      });
    case 'error':
      return toVehicle({ type: 'auth.error', code: 'CONNECTOR_BUSY', message: 'made up' });
    case 'result':
      return toVehicle({ type: 'auth.result', ok: true, mac });
    case 'meter': {
      const body = JSON.stringify({
        ts: ctx.nowS,
        wh: ctx.rng.int(1, 10_000_000),
        w: 150_000,
        state: 'charging',
      });
      return toVehicle({ type: 'session.meter', seq: ctx.rng.int(1, 1000), body, mac }, true);
    }
    default: {
      const body = JSON.stringify({
        reason: 'stopped',
        wh: ctx.rng.int(1, 10_000_000),
        cost: '999.00',
        currency: 'EUR',
        startedAt: ctx.nowS - 60,
        endedAt: ctx.nowS,
      });
      return toVehicle({ type: 'session.end', body, mac }, true);
    }
  }
}

/** Bytes that are not a message at all, or a message of the wrong version. */
export function garbage(ctx: AttackContext): Injection {
  const topic = topics.pileAuth(ctx.rng.pick(ctx.piles));
  const choice = ctx.rng.int(0, 3);
  if (choice === 0) return { op: 'garbage:bytes', topic, payload: rand(ctx, ctx.rng.int(1, 300)) };
  if (choice === 1)
    return { op: 'garbage:version', topic, payload: JSON.stringify({ v: 2, type: 'auth.request' }) };
  if (choice === 2)
    return { op: 'garbage:large', topic, payload: JSON.stringify({ v: 1, pad: 'x'.repeat(9000) }) };
  return { op: 'garbage:array', topic, payload: '[1,2,3]' };
}

/** The attacker's repertoire, each tried with equal weight; an operator with nothing to work on yields none. */
export const OPERATORS = [replay, splice, truncate, swapIds, madeUpRequest, forgeForSid, garbage] as const;

/**
 * What a network attacker does the moment it sees a victim's auth.request go by (its sid is pending for ~ms):
 * answer it with a wrong proof, a made-up error or challenge, an unMACed abort, or the request again.
 */
export function raceRequest(ctx: AttackContext, seen: Observed & { message: Message }): Injection {
  const sid = seen.message.sid;
  const vid = typeof seen.message.vid === 'string' ? seen.message.vid : ctx.rng.pick(ctx.victims);
  const kind = ctx.rng.pick(['wrong-proof', 'wrong-proof', 'error', 'challenge', 'abort', 'replay']);
  const base = { v: 1, sid };
  switch (kind) {
    case 'wrong-proof':
      return {
        op: 'race:wrong-proof',
        topic: seen.topic,
        payload: JSON.stringify({ ...base, type: 'auth.response', proof: rand(ctx, 32) }),
      };
    case 'error':
      return {
        op: 'race:error',
        topic: topics.vehicleAuth(vid),
        payload: JSON.stringify({ ...base, type: 'auth.error', code: 'CONNECTOR_BUSY', message: 'made up' }),
      };
    case 'challenge':
      return {
        op: 'race:challenge',
        topic: topics.vehicleAuth(vid),
        payload: JSON.stringify({
          ...base,
          type: 'auth.challenge',
          pid: seen.message.pid,
          r3: rand(ctx, 16),
          proof: rand(ctx, 32),
          offer: { n: rand(ctx, 24), c: rand(ctx, 80) },
        }),
      };
    case 'abort':
      return {
        op: 'race:abort',
        topic: seen.topic,
        payload: JSON.stringify({
          ...base,
          type: 'auth.abort',
          reason: 'OFFER_DECLINED',
          mac: rand(ctx, 32),
        }),
      };
    default:
      return { op: 'race:replay', topic: seen.topic, payload: seen.text };
  }
}
