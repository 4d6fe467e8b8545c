/**
 * Debian's redis-server for the cluster tests and benchmarks: on a free private port, in its own temporary folder,
 * with no persistence (nothing is saved, nothing survives a restart), stopped after. Not used in production code.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildService, freePort } from '../../node/child-process.js';

const BINARY = ['/usr/bin/redis-server', '/usr/sbin/redis-server'].find((p) => existsSync(p));

export class TestRedis {
  private readonly dir = mkdtempSync(join(tmpdir(), 'evauth-redis-'));
  private readonly service: ChildService;

  private constructor(readonly port: number) {
    if (!BINARY) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
    this.service = new ChildService('redis', BINARY, [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
    ]);
  }

  /** A started Redis. */
  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort());
    await redis.resume();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.service.running;
  }

  /** Starts it (again, on the same port, empty). */
  async resume(): Promise<void> {
    await this.service.start((out) => out.includes('Ready to accept connections'), 10_000);
  }

  /** Stops it as a crash would (the data is gone: there is none on disk). */
  async kill(): Promise<void> {
    await this.service.stop('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.service.stop('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
