/**
 * Reading a built web app's files (Vite's dist) for an HTTP server: only files inside its folder (no `..`, no
 * symlink tricks through the URL), with their content type. Node only.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, normalize, resolve, sep } from 'node:path';

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export interface StaticFile {
  type: string;
  body: Buffer;
}

/**
 * The file at `urlPath` (URL-encoded, relative to `root`), or `index` (relative to root) for a path without an
 * extension when given; undefined when there is none or the path leaves the folder.
 */
export async function readStaticFile(
  root: string,
  urlPath: string,
  options: { index?: string } = {},
): Promise<StaticFile | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const base = resolve(root);
  let file = resolve(base, `.${normalize(`/${decoded}`)}`);
  if (file !== base && !file.startsWith(base + sep)) return undefined;
  if (!(await stat(file).catch(() => undefined))?.isFile()) {
    if (extname(decoded) || options.index === undefined) return undefined;
    file = resolve(base, options.index);
  }
  const body = await readFile(file).catch(() => undefined);
  return body && { type: CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', body };
}
