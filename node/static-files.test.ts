/** A built app's files, and nothing outside its folder. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStaticFile } from './static-files.js';

let dir: string;
let root: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evauth-static-'));
  root = path.join(dir, 'dist');
  fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(root, 'index.html'), '<p>app</p>');
  fs.writeFileSync(path.join(root, 'assets', 'a b.js'), 'js');
  fs.writeFileSync(path.join(dir, 'secret.json'), '{"secret":1}');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('readStaticFile', () => {
  it('reads a file with its type, URL-decoded', async () => {
    const file = await readStaticFile(root, 'assets/a%20b.js');
    expect(file?.type).toBe('text/javascript; charset=utf-8');
    expect(file?.body.toString()).toBe('js');
  });

  it('answers an app route (no extension) with the index only when asked to', async () => {
    expect((await readStaticFile(root, 'history', { index: 'index.html' }))?.body.toString()).toBe(
      '<p>app</p>',
    );
    expect(await readStaticFile(root, 'history')).toBeUndefined();
    expect(await readStaticFile(root, 'assets/missing.js', { index: 'index.html' })).toBeUndefined();
  });

  it('never reads outside its folder', async () => {
    for (const p of [
      '../secret.json',
      '%2e%2e/secret.json',
      'assets/../../secret.json',
      '..%2fsecret.json',
      '%E0%A4%A',
    ]) {
      expect(await readStaticFile(root, p, { index: 'index.html' }), p).not.toMatchObject({
        body: Buffer.from('{"secret":1}'),
      });
    }
    expect(await readStaticFile(root, '../secret.json')).toBeUndefined();
    expect(await readStaticFile(root, 'a\0b.js')).toBeUndefined();
  });
});
