/** The boundary: raw payload → validated message, or a typed MALFORMED / UNSUPPORTED_VERSION. */
import * as v from 'valibot';
import { utf8Decode } from '../crypto/bytes.js';
import { fail, ok, type Result } from '../errors.js';
import { MAX_PAYLOAD_BYTES } from '../ids.js';

type Decoded<T> = Result<T, 'MALFORMED' | 'UNSUPPORTED_VERSION'>;

/**
 * Parses JSON text and checks it is an object; the limit (8 KiB unless said: only pile.control may be larger,
 * PROTOCOL §7) applies to the UTF-8 bytes.
 */
export function parseJsonObject(
  payload: Uint8Array | string,
  maxBytes = MAX_PAYLOAD_BYTES,
): Decoded<Record<string, unknown>> {
  let text: string;
  if (typeof payload === 'string') {
    // UTF-8 is at most 3 bytes per UTF-16 unit; only measure exactly when it could be over.
    if (payload.length * 3 > maxBytes && new TextEncoder().encode(payload).length > maxBytes) {
      return fail('MALFORMED', `payload larger than ${maxBytes} bytes`);
    }
    text = payload;
  } else {
    if (payload.length > maxBytes) return fail('MALFORMED', `payload larger than ${maxBytes} bytes`);
    try {
      text = utf8Decode(payload);
    } catch {
      return fail('MALFORMED', 'payload is not UTF-8');
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('MALFORMED', 'payload is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return fail('MALFORMED', 'payload is not a JSON object');
  }
  return ok(parsed as Record<string, unknown>);
}

function describeIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return 'invalid message';
  const path = first.path?.map((p) => String(p.key)).join('.') ?? '';
  return path ? `field ${path}: ${first.message}` : first.message;
}

interface VariantShape {
  type: string;
  key: string;
  options: readonly { entries: Record<string, { type: string; literal?: unknown }> }[];
}

/** Each variant's options by their discriminator literal, built once per variant schema. */
const variantOptions = new WeakMap<object, Map<unknown, v.GenericSchema>>();

/**
 * The one schema the message can match: for a variant (e.g. the pile's inbound auth messages, keyed by `type`),
 * the option whose literal the message names, looked up in a map. valibot's own variant builds sets and
 * closures on every parse, a measurable share of a busy gateway's allocation; the output is the same because
 * the literals are distinct. Unknown discriminators still go through the variant, for its error message.
 */
function schemaFor(schema: v.GenericSchema, value: unknown): v.GenericSchema {
  if (schema.type !== 'variant' || value === null || typeof value !== 'object') return schema;
  const variant = schema as unknown as VariantShape;
  let byLiteral = variantOptions.get(schema);
  if (!byLiteral) {
    byLiteral = new Map();
    for (const option of variant.options) {
      const discriminator = option.entries[variant.key];
      if (discriminator?.type === 'literal')
        byLiteral.set(discriminator.literal, option as unknown as v.GenericSchema);
    }
    variantOptions.set(schema, byLiteral);
  }
  return byLiteral.get((value as Record<string, unknown>)[variant.key]) ?? schema;
}

/**
 * Validates an already-parsed object: first its version, then its shape against one message schema. An object
 * whose `v` is present and not 1 is UNSUPPORTED_VERSION before anything else is looked at (PROTOCOL §6 step 1),
 * so a message of a later version is told so even where its fields differ; one without `v` fails the shape.
 */
export function validateMessage<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
): Decoded<v.InferOutput<S>> {
  if (typeof value === 'object' && value !== null && 'v' in value) {
    const version = (value as { v?: unknown }).v;
    if (version !== 1)
      return fail('UNSUPPORTED_VERSION', `version ${describeVersion(version)} is not supported (expected 1)`);
  }
  const parsed = v.safeParse(schemaFor(schema, value), value);
  if (!parsed.success) return fail('MALFORMED', describeIssue(parsed.issues));
  return ok(parsed.output);
}

/** The offending `v` for a message, short whatever was sent (never calling into the value: it may be anything). */
function describeVersion(version: unknown): string {
  if (typeof version === 'string') {
    const text = JSON.stringify(version);
    return text.length > 32 ? `${text.slice(0, 32)}…` : text;
  }
  if (typeof version === 'number' || typeof version === 'boolean' || version === null) return String(version);
  return Array.isArray(version) ? 'an array' : `a value of type ${typeof version}`;
}

/** Parses a raw payload as exactly one message schema (of at most `maxBytes`, 8 KiB unless said). */
export function decodeMessage<S extends v.GenericSchema>(
  schema: S,
  payload: Uint8Array | string,
  maxBytes = MAX_PAYLOAD_BYTES,
): Decoded<v.InferOutput<S>> {
  const json = parseJsonObject(payload, maxBytes);
  if (!json.ok) return json;
  return validateMessage(schema, json.value);
}

/** Parses JSON text carried inside a message (ticket, offer, bodies); no version field there. */
export function decodeBody<S extends v.GenericSchema>(
  schema: S,
  text: string,
  maxBytes = MAX_PAYLOAD_BYTES,
): Decoded<v.InferOutput<S>> {
  const json = parseJsonObject(text, maxBytes);
  if (!json.ok) return json;
  const parsed = v.safeParse(schema, json.value);
  if (!parsed.success) return fail('MALFORMED', describeIssue(parsed.issues));
  return ok(parsed.output);
}

export function encodeMessage(message: object): string {
  return JSON.stringify(message);
}
