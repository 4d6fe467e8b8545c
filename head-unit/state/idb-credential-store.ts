/**
 * The browser's credential cache for the vehicle client: sealed credentials as the cloud published them, in
 * IndexedDB, so a head unit that lost its cloud link still authenticates wherever the broker is reachable.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { CredentialStore, StoredCredential } from '../vehicle/store.js';

interface CredentialDb extends DBSchema {
  credentials: {
    key: [string, string];
    value: StoredCredential & { vid: string };
    indexes: { byVid: string };
  };
}

export class IdbCredentialStore implements CredentialStore {
  private db?: Promise<IDBPDatabase<CredentialDb>>;

  constructor(private readonly name = 'evauth-credentials') {}

  private open(): Promise<IDBPDatabase<CredentialDb>> {
    this.db ??= openDB<CredentialDb>(this.name, 1, {
      upgrade(database) {
        const store = database.createObjectStore('credentials', { keyPath: ['vid', 'pid'] });
        store.createIndex('byVid', 'vid');
      },
    });
    return this.db;
  }

  async list(vid: string): Promise<StoredCredential[]> {
    const rows = await (await this.open()).getAllFromIndex('credentials', 'byVid', vid);
    return rows.map(({ pid, topic, sealed }) => ({ pid, topic, sealed }));
  }

  async put(vid: string, credential: StoredCredential): Promise<void> {
    await (await this.open()).put('credentials', { vid, ...credential });
  }

  async delete(vid: string, pid: string): Promise<void> {
    await (await this.open()).delete('credentials', [vid, pid]);
  }
}
