/**
 * A client's broker nodes as mqtt.js options (browser and Node): PROTOCOL §11 revision 2 lists every node of a
 * cluster (`mqtt.urls`, `mqtt.wsUrls`) in order of preference, and a client that loses its node reconnects to the
 * next one, round the list. mqtt.js does the rotation (`servers`, one step per reconnect); two things make it
 * real failover: a node that refuses the CONNECT (a cluster node without Redis answers "server unavailable")
 * must not end the client's reconnecting, which mqtt.js does by default; and each node keeps its own URL (its
 * scheme's port when it names none, its own WebSocket path: mqtt.js would give every node the first one's).
 */
import type { IClientOptions } from 'mqtt';

type Server = NonNullable<IClientOptions['servers']>[number];

const DEFAULT_PORTS: Record<string, number> = {
  mqtt: 1883,
  tcp: 1883,
  mqtts: 8883,
  ssl: 8883,
  ws: 80,
  wss: 443,
};

function serverOf(url: string): Server {
  const parsed = new URL(url);
  const protocol = parsed.protocol.replace(/:$/, '');
  const port = Number(parsed.port) || DEFAULT_PORTS[protocol] || 1883;
  return { host: parsed.hostname, port, protocol: protocol as Server['protocol'] };
}

export interface MqttFailover {
  /** the first node's URL: what mqtt.connect is given (a WebSocket path is taken from it for every node) */
  url: string;
  options: Pick<IClientOptions, 'servers' | 'reconnectOnConnackError' | 'transformWsUrl'>;
}

/** `host:port` of a URL as mqtt.js builds it for a node: `{protocol}://{hostname}:{port}{path}` */
function nodeKey(url: string): string {
  const server = serverOf(url);
  return `${server.protocol}://${server.host}:${server.port}`;
}

/** The URL and mqtt.js options that connect to the first of `urls` and fail over to the others in order. */
export function mqttFailover(urls: string | readonly string[]): MqttFailover {
  const list = typeof urls === 'string' ? [urls] : [...urls];
  const first = list[0];
  if (first === undefined) throw new Error('no broker URL');
  if (list.length === 1) return { url: first, options: { reconnectOnConnackError: true } };
  const urlOfNode = new Map<string, string>();
  for (const url of list) if (!urlOfNode.has(nodeKey(url))) urlOfNode.set(nodeKey(url), url);
  return {
    url: first,
    options: {
      reconnectOnConnackError: true,
      servers: list.map(serverOf),
      transformWsUrl: (built) => urlOfNode.get(nodeKey(built)) ?? built,
    },
  };
}

/**
 * The node list a provisioning file or gateway config carries (PROTOCOL §11): the first node alone, and all of
 * them when there is more than one (a single broker's files stay as they were).
 */
export function brokerNodes(urls: string | readonly string[]): { first: string; all?: string[] } {
  const list = typeof urls === 'string' ? [urls] : [...urls];
  const first = list[0];
  if (first === undefined) throw new Error('no broker URL');
  return list.length > 1 ? { first, all: list } : { first };
}

/** A comma-separated list of broker URLs (command lines, environment) as the list, in order. */
export function parseBrokerUrls(text: string): string[] {
  return text
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
}
