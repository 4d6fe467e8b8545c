/** Topic tree of PROTOCOL §4. Every topic starts with evauth/v1/. */
export const TOPIC_ROOT = 'evauth/v1';

export const topics = {
  credential: (vid: string, pid: string) => `${TOPIC_ROOT}/vehicles/${vid}/credentials/${pid}`,
  vehicleCredentials: (vid: string) => `${TOPIC_ROOT}/vehicles/${vid}/credentials/+`,
  vehicleAuth: (vid: string) => `${TOPIC_ROOT}/vehicles/${vid}/auth`,
  vehicleSession: (vid: string) => `${TOPIC_ROOT}/vehicles/${vid}/session`,
  vehicleCloud: (vid: string) => `${TOPIC_ROOT}/vehicles/${vid}/cloud`,
  vehicleAll: (vid: string) => `${TOPIC_ROOT}/vehicles/${vid}/#`,
  pileAuth: (pid: string) => `${TOPIC_ROOT}/piles/${pid}/auth`,
  pileControl: (pid: string) => `${TOPIC_ROOT}/piles/${pid}/control`,
  pileStatus: (pid: string) => `${TOPIC_ROOT}/piles/${pid}/status`,
  allPileStatus: () => `${TOPIC_ROOT}/piles/+/status`,
  gatewayStatus: (gid: string) => `${TOPIC_ROOT}/gateways/${gid}/status`,
  allGatewayStatus: () => `${TOPIC_ROOT}/gateways/+/status`,
  directoryPile: (pid: string) => `${TOPIC_ROOT}/directory/piles/${pid}`,
  directoryAll: () => `${TOPIC_ROOT}/directory/#`,
  credentialRequests: () => `${TOPIC_ROOT}/cloud/credential-requests`,
} as const;

export type TopicKind =
  | { kind: 'credential'; vid: string; pid: string }
  | { kind: 'vehicleAuth'; vid: string }
  | { kind: 'vehicleSession'; vid: string }
  | { kind: 'vehicleCloud'; vid: string }
  | { kind: 'pileAuth'; pid: string }
  | { kind: 'pileControl'; pid: string }
  | { kind: 'pileStatus'; pid: string }
  | { kind: 'gatewayStatus'; gid: string }
  | { kind: 'directoryPile'; pid: string }
  | { kind: 'credentialRequests' };

/** Parses a concrete topic name (no wildcards) into what it addresses, or undefined. */
export function parseTopic(topic: string): TopicKind | undefined {
  const parts = topic.split('/');
  if (parts[0] !== 'evauth' || parts[1] !== 'v1') return undefined;
  const [, , a, b, c, d] = parts;
  const n = parts.length;
  if (a === 'vehicles' && b) {
    if (n === 6 && c === 'credentials' && d) return { kind: 'credential', vid: b, pid: d };
    if (n === 5 && c === 'auth') return { kind: 'vehicleAuth', vid: b };
    if (n === 5 && c === 'session') return { kind: 'vehicleSession', vid: b };
    if (n === 5 && c === 'cloud') return { kind: 'vehicleCloud', vid: b };
  } else if (a === 'piles' && b && n === 5) {
    if (c === 'auth') return { kind: 'pileAuth', pid: b };
    if (c === 'control') return { kind: 'pileControl', pid: b };
    if (c === 'status') return { kind: 'pileStatus', pid: b };
  } else if (a === 'gateways' && b && n === 5 && c === 'status') {
    return { kind: 'gatewayStatus', gid: b };
  } else if (a === 'directory' && b === 'piles' && c && n === 5) {
    return { kind: 'directoryPile', pid: c };
  } else if (a === 'cloud' && b === 'credential-requests' && n === 4) {
    return { kind: 'credentialRequests' };
  }
  return undefined;
}
