/** The frame guard in front of each broker connection: packets through it intact, and in as few writes as aedes asks. */
import { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { GuardedConnection } from './frame-guard.js';

/** The socket's side: keeps every write it gets, as the kernel would get one `write` call each. */
class RecordingSocket extends Duplex {
  readonly writes: Buffer[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.writes.push(Buffer.from(chunk));
    callback();
  }
}

const publish = (i: number): mqttPacket.IPublishPacket => ({
  cmd: 'publish',
  topic: `evauth/v1/vehicles/VEH-${i}/auth`,
  payload: Buffer.from(JSON.stringify({ v: 1, type: 'auth.result', sid: `s${i}`, ok: true })),
  qos: 1,
  messageId: i + 1,
  retain: false,
  dup: false,
});

function parseAll(bytes: Buffer): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  parser.on('packet', (p) => packets.push(p));
  parser.on('error', (e) => {
    throw e;
  });
  parser.parse(bytes);
  return packets;
}

describe('GuardedConnection writes', () => {
  it('hands a packet that mqtt-packet writes in pieces to the socket as one write', async () => {
    const socket = new RecordingSocket();
    const guarded = new GuardedConnection(socket, 16 * 1024, () => {});
    // aedes writes packets this way: writeToStream corks, writes header, length, topic, id and payload
    // separately, and uncorks on the next tick.
    mqttPacket.writeToStream(publish(1), guarded);
    await new Promise((r) => process.nextTick(r));
    await new Promise((r) => setImmediate(r));
    expect(socket.writes).toHaveLength(1);
    const [packet] = parseAll(socket.writes[0]!) as mqttPacket.IPublishPacket[];
    expect(packet?.topic).toBe('evauth/v1/vehicles/VEH-1/auth');
    expect(packet?.messageId).toBe(2);
  });

  it('keeps every byte and its order across many packets written in one tick', async () => {
    const socket = new RecordingSocket();
    const guarded = new GuardedConnection(socket, 16 * 1024, () => {});
    for (let i = 0; i < 50; i++) mqttPacket.writeToStream(publish(i), guarded);
    await new Promise((r) => setImmediate(r));
    const packets = parseAll(Buffer.concat(socket.writes)) as mqttPacket.IPublishPacket[];
    expect(packets.map((p) => p.messageId)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // Written in one tick, they are one corked batch: one write, not one per chunk (six per publish).
    expect(socket.writes).toHaveLength(1);
  });

  it('passes an uncorked write straight through', async () => {
    const socket = new RecordingSocket();
    const guarded = new GuardedConnection(socket, 16 * 1024, () => {});
    await new Promise<void>((resolve, reject) =>
      guarded.write(Buffer.from([0xd0, 0x00]), (e) => (e ? reject(e) : resolve())),
    );
    expect(socket.writes).toEqual([Buffer.from([0xd0, 0x00])]);
  });
});
