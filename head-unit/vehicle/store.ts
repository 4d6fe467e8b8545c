/**
 * Where a vehicle keeps its credentials between runs. The store holds the sealed payloads exactly as the cloud
 * published them (they are only readable with the vehicle key), so a store needs no crypto and no binary
 * encoding: the browser uses IndexedDB, the CLI a file, tests memory.
 */

export interface StoredCredential {
  pid: string;
  /** the topic it arrived on: the AEAD's associated data, needed to open it again */
  topic: string;
  /** the sealed payload {"v":1,"n","c"} as received */
  sealed: string;
}

export interface CredentialStore {
  list(vid: string): Promise<StoredCredential[]>;
  put(vid: string, credential: StoredCredential): Promise<void>;
  delete(vid: string, pid: string): Promise<void>;
}

export class MemoryCredentialStore implements CredentialStore {
  private readonly byVehicle = new Map<string, Map<string, StoredCredential>>();

  async list(vid: string): Promise<StoredCredential[]> {
    return [...(this.byVehicle.get(vid)?.values() ?? [])];
  }

  async put(vid: string, credential: StoredCredential): Promise<void> {
    let map = this.byVehicle.get(vid);
    if (!map) {
      map = new Map();
      this.byVehicle.set(vid, map);
    }
    map.set(credential.pid, credential);
  }

  async delete(vid: string, pid: string): Promise<void> {
    this.byVehicle.get(vid)?.delete(pid);
  }
}
