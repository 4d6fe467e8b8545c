/** The admin CLI's argument parsers and file readers (cli.ts): each refuses bad input with a usage error. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { text as readStream } from 'node:stream/consumers';
import { InvalidArgumentError } from 'commander';
import { isValidId } from '../shared/index.js';
import type { OcppEndpointOptions } from './ocpp-stations.js';
import { MAX_RECEIPT_FILE_BYTES } from './verify-receipt.js';

export class UsageError extends Error {}

export const idArg = (what: string) => (value: string) => {
  if (!isValidId(value)) throw new InvalidArgumentError(`${what} must match ^[A-Za-z0-9._-]{1,64}$`);
  return value;
};
/** For positional ids, checked inside actions (commander only runs parsers for options). */
export function checkId(what: string, value: string): void {
  if (!isValidId(value))
    throw new UsageError(`${what} ${JSON.stringify(value)} must match ^[A-Za-z0-9._-]{1,64}$`);
}
export const intArg = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`must be an integer ${min}-${max}`);
  return n;
};
export const numArg = (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
};
/** Unix seconds or an ISO 8601 date. */
export const timeArg = (value: string) => {
  const n = /^\d+$/.test(value) ? Number(value) : Math.floor(Date.parse(value) / 1000);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('must be Unix seconds or an ISO 8601 date');
  return n;
};
export const out = (value: unknown): void => {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
};

export interface ExportCliOptions {
  mqttUrl: string;
  out?: string;
  httpPort: number;
  ocppHost?: string;
  ocppPort?: number;
  ocppTlsCert?: string;
  ocppTlsKey?: string;
}

/** The OCPP endpoint options of `gateway export`, if any was given. */
export function ocppEndpointOption(o: ExportCliOptions): OcppEndpointOptions | undefined {
  if ((o.ocppTlsCert === undefined) !== (o.ocppTlsKey === undefined))
    throw new UsageError('--ocpp-tls-cert and --ocpp-tls-key go together');
  if (o.ocppHost === undefined && o.ocppPort === undefined && o.ocppTlsCert === undefined) return undefined;
  return {
    ...(o.ocppHost !== undefined ? { host: o.ocppHost } : {}),
    ...(o.ocppPort !== undefined ? { port: o.ocppPort } : {}),
    ...(o.ocppTlsCert !== undefined && o.ocppTlsKey !== undefined
      ? { tls: { cert: o.ocppTlsCert, key: o.ocppTlsKey } }
      : {}),
  };
}

/** The receipts file's text; "-" is stdin. */
export async function readReceiptFile(file: string): Promise<string> {
  if (file === '-') return readStream(process.stdin);
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (size > MAX_RECEIPT_FILE_BYTES)
    throw new UsageError(`${file} is larger than ${MAX_RECEIPT_FILE_BYTES} bytes; split it`);
  return readFileSync(file, 'utf8');
}

/** --sign-key's text, or the content of the PEM file it names. */
export function readIfPemFile(keyOrPath: string): string {
  if (keyOrPath.startsWith('-----BEGIN') || !existsSync(keyOrPath)) return keyOrPath;
  try {
    return readFileSync(keyOrPath, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${keyOrPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
