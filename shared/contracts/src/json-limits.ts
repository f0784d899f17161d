import { BrokerError } from './broker-error.ts';

/**
 * The nesting bound every face applies before anything else reads a payload. Deeper values than
 * any tool needs are how a hostile client makes recursive code (hashing, canonical JSON, schema
 * validation) overflow the stack after a tool has run, so they are refused while still text.
 */
export const DEFAULT_MAX_JSON_DEPTH = 64;

export interface JsonLimits {
  /** Deepest nesting of arrays and objects accepted; the top-level value is depth 1. */
  maxDepth: number;
}

/**
 * Depth of the deepest array/object nesting in JSON text, without parsing it and without recursion:
 * brackets inside strings (escapes included) are skipped. Returns as soon as `stopAbove` is passed.
 */
export function jsonTextDepth(text: string, stopAbove = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return deepest;
}

/**
 * Depth of an already-parsed value (a platform event, a JSONata result), iteratively, so a value
 * built in memory gets the same bound as text. Stops as soon as `stopAbove` is passed.
 */
export function jsonValueDepth(value: unknown, stopAbove = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth > deepest) {
      deepest = depth;
      if (deepest > stopAbove) return deepest;
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/** The refusal every face gives for a payload nested deeper than its limit (400, names the limit). */
export function tooDeepError(where: string, maxDepth: number): BrokerError {
  return new BrokerError(
    'BROKER_PAYLOAD_TOO_DEEP',
    `${where} is nested deeper than the limit of ${maxDepth} levels; flatten it.`,
    { details: { field: where, limitDepth: maxDepth } },
  );
}

/** Throws `BROKER_PAYLOAD_TOO_DEEP` when JSON text nests deeper than `maxDepth`. */
export function assertJsonTextDepth(text: string, maxDepth: number, where = 'The request body'): void {
  if (jsonTextDepth(text, maxDepth) > maxDepth) throw tooDeepError(where, maxDepth);
}

/** Throws `BROKER_PAYLOAD_TOO_DEEP` when a parsed value nests deeper than `maxDepth`. */
export function assertJsonValueDepth(value: unknown, maxDepth: number, where = 'The payload'): void {
  if (jsonValueDepth(value, maxDepth) > maxDepth) throw tooDeepError(where, maxDepth);
}
