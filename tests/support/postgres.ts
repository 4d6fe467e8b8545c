/**
 * Debian's PostgreSQL for the tests and benchmarks that run the cloud on it: a cluster made with initdb in its own
 * temporary folder, listening on a Unix socket in that folder only (no TCP), run as the `postgres` system user when
 * we are root (PostgreSQL refuses root), without fsync (nothing needs to survive a crash of the test machine),
 * stopped and removed after. One server per test file; `createDatabase` gives each test a fresh database.
 * Not used in production code.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ChildService } from '../../node/child-process.js';

const BIN_ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin folder (Debian installs them side by side, one per major version). */
function serverBin(): string {
  const versions = existsSync(BIN_ROOT)
    ? readdirSync(BIN_ROOT)
        .filter((v) => existsSync(join(BIN_ROOT, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error('PostgreSQL is not installed (apt-get install -y --no-install-recommends postgresql)');
  return join(BIN_ROOT, versions[0]!, 'bin');
}

/** Who runs the server: the `postgres` system user when we are root, else ourselves. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  const [uid, gid] = [id('-u'), id('-g')];
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('no postgres system user');
  return { uid, gid };
}

export class TestPostgres {
  /** the folder holding the cluster (data/) and the socket */
  private readonly dir: string;
  private readonly service: ChildService;
  private databases = 0;
  /** the superuser the cluster was made with */
  readonly superuser: string;

  private constructor() {
    const bin = serverBin();
    const user = serverUser();
    this.superuser = user ? 'postgres' : userInfo().username;
    this.dir = mkdtempSync(join(tmpdir(), 'evauth-pg-'));
    if (user) chownSync(this.dir, user.uid, user.gid);
    const data = join(this.dir, 'data');
    execFileSync(
      join(bin, 'initdb'),
      ['-D', data, '-U', this.superuser, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { stdio: 'pipe', ...(user ?? {}) },
    );
    this.service = new ChildService(
      'postgres',
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-k',
        this.dir,
        '-c',
        'listen_addresses=',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      user ?? {},
    );
  }

  /** A started server. */
  static async start(): Promise<TestPostgres> {
    const server = new TestPostgres();
    try {
      await server.service.start((out) => out.includes('ready to accept connections'), 30_000);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** The URL of a database on this server (connected over the socket in its folder). */
  url(database = 'postgres'): string {
    return `postgres://${this.superuser}@/${database}?host=${encodeURIComponent(this.dir)}`;
  }

  /** Creates a new, empty database; its URL. */
  async createDatabase(prefix = 'evauth'): Promise<string> {
    const name = `${prefix}_${++this.databases}`;
    await this.sql(`CREATE DATABASE ${name}`);
    return this.url(name);
  }

  /** Runs one statement as the superuser in `database` (a name, or a URL `createDatabase` gave); its rows. */
  async sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<T[]> {
    const url = database.startsWith('postgres://') ? database : this.url(database);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    await this.service.stop('SIGINT', 10_000); // PostgreSQL's "fast" shutdown
    rmSync(this.dir, { recursive: true, force: true });
  }
}
