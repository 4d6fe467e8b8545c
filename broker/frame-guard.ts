/**
 * Maximum MQTT packet size for aedes, which has no such limit of its own: mqtt-packet buffers a whole packet
 * before parsing it, so a client announcing a 256 MB remaining length could make the broker hold it all.
 * The guard reads the fixed header of each packet as bytes arrive and ends the connection as soon as a packet
 * announces more than the limit, before its body is buffered anywhere.
 */
import { Duplex } from 'node:stream';

/** Tracks MQTT packet boundaries in a byte stream (fixed header: 1 type byte, 1-4 bytes remaining length). */
export class MqttFrameGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(public maxPacketBytes: number) {}

  /** Returns false when a packet announces more than the limit (or a malformed length). */
  feed(chunk: Uint8Array): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'type') {
        i++;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const byte = chunk[i++]!;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (byte & 0x80) {
          if (this.lengthBytes >= 4) return false;
          continue;
        }
        if (1 + this.lengthBytes + this.length > this.maxPacketBytes) return false;
        this.bodyLeft = this.length;
        this.state = this.bodyLeft === 0 ? 'type' : 'body';
      } else {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        i += take;
        this.bodyLeft -= take;
        if (this.bodyLeft === 0) this.state = 'type';
      }
    }
    return true;
  }
}

/** A duplex in front of a socket that passes bytes through the guard and closes the socket on an oversize packet. */
export class GuardedConnection extends Duplex {
  private readonly guard: MqttFrameGuard;

  constructor(
    private readonly inner: Duplex,
    maxPacketBytes: number,
    onOversize: () => void,
    /** the peer's address, for per-source login throttling */
    readonly remoteAddress?: string,
  ) {
    super();
    this.guard = new MqttFrameGuard(maxPacketBytes);
    inner.on('data', (chunk: Buffer) => {
      if (!this.guard.feed(chunk)) {
        onOversize();
        this.destroy();
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => this.destroy());
  }

  /**
   * Lets this connection send packets up to `bytes` from now on: only a login that needs it (the cloud, whose
   * pile.control may be 256 KiB) once it has logged in, so nobody else's limit moves.
   */
  allowPacketsUpTo(bytes: number): void {
    this.guard.maxPacketBytes = Math.max(this.guard.maxPacketBytes, bytes);
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.inner.write(chunk, encoding, callback);
  }

  /**
   * aedes corks the connection around each packet, and mqtt-packet writes a packet as several small chunks
   * (header, length, topic, id, payload). Without this they reached the socket one `write` each: one syscall and,
   * with no-delay, one TCP segment per chunk — over half the broker's CPU under load. Here a corked batch leaves
   * as one write (and over WebSocket as one frame).
   */
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    const bytes = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.inner.write(bytes, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(error);
  }
}
