/** A CredentialStore in a JSON file (mode 0600), for the headless client. Writes are atomic (temp + rename). */
import fs from 'node:fs';
import path from 'node:path';
import type { CredentialStore, StoredCredential } from '../vehicle/index.js';

type FileShape = Record<string, Record<string, StoredCredential>>;

export class FileCredentialStore implements CredentialStore {
  constructor(private readonly file: string) {}

  private read(): FileShape {
    try {
      const value = JSON.parse(fs.readFileSync(this.file, 'utf8')) as unknown;
      return typeof value === 'object' && value !== null ? (value as FileShape) : {};
    } catch {
      return {};
    }
  }

  private write(data: FileShape): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(data, null, 2), { mode: 0o600 });
    fs.renameSync(temp, this.file);
  }

  async list(vid: string): Promise<StoredCredential[]> {
    return Object.values(this.read()[vid] ?? {});
  }

  async put(vid: string, credential: StoredCredential): Promise<void> {
    const data = this.read();
    data[vid] = { ...(data[vid] ?? {}), [credential.pid]: credential };
    this.write(data);
  }

  async delete(vid: string, pid: string): Promise<void> {
    const data = this.read();
    if (!data[vid]?.[pid]) return;
    delete data[vid][pid];
    this.write(data);
  }
}
