/**
 * The MQTT logins and topic rights of PROTOCOL §9 as data: principals, usernames and what each may subscribe to
 * and publish on, built from the topic tree of §4. The broker enforces them (aedes hooks) and the cloud exports
 * them (Mosquitto's dynamic security); nobody else derives them again. Browser-safe.
 */
import { isValidId } from './ids.js';
import { topics } from './topics.js';

export type Principal =
  | { kind: 'vehicle'; vid: string }
  | { kind: 'gateway'; gid: string; piles: ReadonlySet<string> }
  | { kind: 'cloud' };

export interface TopicRights {
  /** topic filters the client may subscribe to (a filter is allowed when one of these covers it) */
  subscribe: string[];
  /** topic patterns the client may publish on */
  publish: string[];
  /** whether the client may set the retain flag */
  mayRetain: boolean;
}

/** PROTOCOL §9 as data: the topic patterns each principal may subscribe to and publish on. */
export function rightsOf(principal: Principal): TopicRights {
  switch (principal.kind) {
    case 'vehicle': {
      const vid = principal.vid;
      return {
        subscribe: [
          topics.vehicleAll(vid),
          topics.directoryAll(),
          topics.allPileStatus(),
          topics.allGatewayStatus(),
        ],
        publish: [topics.pileAuth('+'), topics.credentialRequests()],
        mayRetain: false,
      };
    }
    case 'gateway': {
      const piles = [...principal.piles].sort();
      return {
        subscribe: piles.flatMap((p) => [topics.pileAuth(p), topics.pileControl(p)]),
        publish: [
          ...piles.map((p) => topics.pileStatus(p)),
          topics.gatewayStatus(principal.gid),
          topics.vehicleAuth('+'),
          topics.vehicleSession('+'),
        ],
        mayRetain: true,
      };
    }
    case 'cloud':
      return {
        subscribe: [topics.credentialRequests()],
        publish: [
          topics.credential('+', '+'),
          topics.vehicleCloud('+'),
          topics.pileControl('+'),
          topics.directoryAll(),
        ],
        mayRetain: true,
      };
  }
}

/** MQTT matching of a concrete topic name against a filter with + and #. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const n = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return i === f.length - 1;
    if (i >= n.length) return false;
    if (level !== '+' && level !== n[i]) return false;
  }
  return f.length === n.length;
}

/** True when every topic the subscription `filter` can match is also matched by `allowed`. */
export function filterCovers(allowed: string, filter: string): boolean {
  const a = allowed.split('/');
  const f = filter.split('/');
  for (let i = 0; i < a.length; i++) {
    const level = a[i];
    if (level === '#') return i === a.length - 1;
    if (i >= f.length) return false;
    const want = f[i];
    if (want === '#') return false;
    if (level === '+') continue;
    if (want === '+' || want !== level) return false;
  }
  return a.length === f.length;
}

function wellFormedTopic(topic: string): boolean {
  return topic.length > 0 && topic.length <= 512 && !topic.startsWith('$') && !topic.includes('\u0000');
}

/**
 * A principal's rights split for fast checks: exact topics (a gateway's own piles, thousands of them) in a Set,
 * the few wildcard patterns in a list. Built once per principal (per connection), not per message.
 */
interface CompiledRights {
  subscribeExact: ReadonlySet<string>;
  subscribePatterns: readonly string[];
  publishExact: ReadonlySet<string>;
  publishPatterns: readonly string[];
  mayRetain: boolean;
}

const compiled = new WeakMap<Principal, CompiledRights>();
const hasWildcard = (filter: string) => filter.includes('+') || filter.includes('#');

function compiledRightsOf(principal: Principal): CompiledRights {
  let rights = compiled.get(principal);
  if (!rights) {
    const table = rightsOf(principal);
    rights = {
      subscribeExact: new Set(table.subscribe.filter((f) => !hasWildcard(f))),
      subscribePatterns: table.subscribe.filter(hasWildcard),
      publishExact: new Set(table.publish.filter((f) => !hasWildcard(f))),
      publishPatterns: table.publish.filter(hasWildcard),
      mayRetain: table.mayRetain,
    };
    compiled.set(principal, rights);
  }
  return rights;
}

/** Rights check for a PUBLISH (the topic has no wildcards; MQTT forbids them there). */
export function mayPublish(principal: Principal, topic: string, retain: boolean): boolean {
  if (!wellFormedTopic(topic) || hasWildcard(topic)) return false;
  const rights = compiledRightsOf(principal);
  if (retain && !rights.mayRetain) return false;
  return (
    rights.publishExact.has(topic) || rights.publishPatterns.some((pattern) => topicMatches(pattern, topic))
  );
}

/** Rights check for a SUBSCRIBE: the whole filter must lie inside one allowed filter. */
export function maySubscribe(principal: Principal, topicFilter: string): boolean {
  if (!wellFormedTopic(topicFilter)) return false;
  const rights = compiledRightsOf(principal);
  // An exact allowed topic covers only the identical filter, which then has no wildcard.
  if (!hasWildcard(topicFilter) && rights.subscribeExact.has(topicFilter)) return true;
  return rights.subscribePatterns.some((allowed) => filterCovers(allowed, topicFilter));
}

/** Parses an MQTT username of docs/architecture.md: `vehicle:{vid}`, `gateway:{gid}` or `cloud`. */
export function parseUsername(
  username: string,
): { kind: 'vehicle'; vid: string } | { kind: 'gateway'; gid: string } | { kind: 'cloud' } | undefined {
  if (username === 'cloud') return { kind: 'cloud' };
  const colon = username.indexOf(':');
  if (colon < 0) return undefined;
  const kind = username.slice(0, colon);
  const id = username.slice(colon + 1);
  if (!isValidId(id)) return undefined;
  if (kind === 'vehicle') return { kind: 'vehicle', vid: id };
  if (kind === 'gateway') return { kind: 'gateway', gid: id };
  return undefined;
}

/**
 * The prefix every MQTT client id of a login starts with (`vehicle-{vid}-`, `gateway-{gid}-`, `cloud-`): the broker
 * refuses other ids, so no login can take over another's connection by reusing its client id.
 */
export function clientIdPrefix(principal: Pick<Principal, 'kind'> & { vid?: string; gid?: string }): string {
  if (principal.kind === 'vehicle') return `vehicle-${principal.vid}-`;
  if (principal.kind === 'gateway') return `gateway-${principal.gid}-`;
  return 'cloud-';
}

/** The client id prefix of a username, or undefined if it names no login. */
export function clientIdPrefixOf(username: string): string | undefined {
  const parsed = parseUsername(username);
  return parsed ? clientIdPrefix(parsed) : undefined;
}

export const usernames = {
  vehicle: (vid: string) => `vehicle:${vid}`,
  gateway: (gid: string) => `gateway:${gid}`,
  cloud: 'cloud',
} as const;
