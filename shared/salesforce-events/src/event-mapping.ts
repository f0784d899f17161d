/**
 * Turns one platform event (a CometD message) into the tool-call request the broker core accepts:
 * tool, arguments, write-back targets and idempotency key, with the event as source and
 * correlation. The default contract reads the fields of `MCP_Tool_Request__e`; a channel's
 * configured JSONata expressions replace any of the four.
 * Anything the event gets wrong is an `EventRejected`, never a crash: a bad event must not block
 * its channel.
 */

import type { EventMapping } from '@mcp-broker/broker-config';
import { type ToolCallRequest, type WriteBackTarget, writeBackTargetSchema } from '@mcp-broker/contracts';
import jsonata from 'jsonata';
import { EventRejected } from './event-rejected.ts';
import { eventCorrelation, eventSource } from './event-request.ts';
import type { PlatformEventMessage } from './platform-event.ts';

/** The org (configuration id) and the channel whose events are mapped. */
export interface EventMappingContext {
  org: string;
  channelConfig: { channel: string; mapping?: EventMapping | undefined };
}

/** A configured mapping expression that does not compile: a configuration error, raised at startup. */
export class EventMappingConfigError extends Error {
  readonly org: string;
  readonly channel: string;
  readonly key: MappingKey;

  constructor(org: string, channel: string, key: MappingKey, detail: string) {
    super(`salesforce.orgs[${org}] channel ${channel}: mapping.${key} is not a valid JSONata expression: ${detail}`);
    this.name = 'EventMappingConfigError';
    this.org = org;
    this.channel = channel;
    this.key = key;
  }
}

type MappingKey = keyof EventMapping;
const MAPPING_KEYS: readonly MappingKey[] = ['tool', 'arguments', 'writeBack', 'idempotencyKey'];

const MAX_TOOL_LENGTH = 128;
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const MAX_WRITE_BACK_TARGETS = 10;
const SALESFORCE_TARGET_TYPES = new Set(['salesforce-record', 'salesforce-result', 'salesforce-event']);

/** The mapping of one (org, channel), its expressions compiled once. */
/** Longest one expression may run on one event, and how deep it may recurse. */
const EXPRESSION_LIMITS = { timeout: 1_000, stack: 500 };

export class EventMapper {
  readonly org: string;
  readonly channel: string;
  readonly #expressions: Partial<Record<MappingKey, jsonata.Expression>> = {};

  /** Throws `EventMappingConfigError` when an expression does not compile. */
  constructor(context: EventMappingContext) {
    this.org = context.org;
    this.channel = context.channelConfig.channel;
    const mapping = context.channelConfig.mapping ?? {};
    for (const key of MAPPING_KEYS) {
      const source = mapping[key];
      if (source === undefined) continue;
      try {
        // JSONata's own guardrails: a looping expression (tail calls never overflow the stack)
        // must not hold the channel, or the worker's event loop, forever.
        this.#expressions[key] = jsonata(source, EXPRESSION_LIMITS);
      } catch (error) {
        const { message, position } = error as { message?: string; position?: number };
        const at = position === undefined ? '' : ` (at character ${position})`;
        throw new EventMappingConfigError(this.org, this.channel, key, `${message ?? String(error)}${at}`);
      }
    }
  }

  /** Maps one delivered message; throws `EventRejected` with a code and a reason naming the field. */
  async map(message: unknown): Promise<ToolCallRequest> {
    const partial: Partial<ToolCallRequest> = {};
    try {
      return await this.#map(message, partial);
    } catch (error) {
      if (error instanceof EventRejected) throw new EventRejected(error.code, error.message, { ...partial });
      throw error;
    }
  }

  /** Fills `partial` as it goes, so a rejection carries what was understood (write-back targets above all). */
  async #map(message: unknown, partial: Partial<ToolCallRequest>): Promise<ToolCallRequest> {
    const { payload, event } = envelopeOf(message);
    const position = { org: this.org, channel: this.channel, replayId: event.replayId };
    const source = eventSource(position);
    const correlation = eventCorrelation(position);
    const recordId = nonBlankString(payload.Record_Id__c);
    partial.source = source;
    partial.correlation = correlation;
    const input = { payload, event, channel: this.channel, org: this.org };

    const idempotencyKey = this.#idempotencyKey(await this.#evaluate('idempotencyKey', input), payload, event);
    partial.idempotencyKey = idempotencyKey;
    const writeBack = this.#writeBack(await this.#evaluate('writeBack', input), payload, idempotencyKey, recordId);
    partial.writeBack = writeBack;
    const tool = toolOf(
      await this.#evaluate('tool', input),
      this.#expressions.tool ? 'mapping.tool' : 'Tool__c',
      payload,
    );
    partial.tool = tool;
    const args = argumentsOf(await this.#evaluate('arguments', input), payload);
    return {
      tool,
      arguments: args,
      writeBack,
      idempotencyKey,
      source,
      correlation,
    };
  }

  /** The expression's result as plain JSON, `undefined` when not configured or when it yields nothing. */
  async #evaluate(key: MappingKey, input: Record<string, unknown>): Promise<Evaluated> {
    const expression = this.#expressions[key];
    if (!expression) return { configured: false };
    try {
      const value: unknown = await expression.evaluate(input);
      return {
        configured: true,
        value: value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown),
      };
    } catch (error) {
      throw new EventRejected(
        'EVENT_MAPPING_FAILED',
        `mapping.${key} failed on this event: ${(error as Error).message}`,
      );
    }
  }

  #idempotencyKey(
    evaluated: Evaluated,
    payload: Record<string, unknown>,
    event: PlatformEventMessage['event'],
  ): string {
    const fallback =
      nonBlankString(payload.Request_Id__c) ??
      nonBlankString(event.EventUuid) ??
      `${this.org}:${this.channel}:${event.replayId}`;
    if (!evaluated.configured || evaluated.value === undefined || evaluated.value === null) {
      if (fallback.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
        throw new EventRejected(
          'EVENT_BAD_IDEMPOTENCY_KEY',
          `Request_Id__c is ${fallback.length} characters; the idempotency key allows ${MAX_IDEMPOTENCY_KEY_LENGTH}`,
        );
      }
      return fallback;
    }
    const value = typeof evaluated.value === 'number' ? String(evaluated.value) : evaluated.value;
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw new EventRejected(
        'EVENT_BAD_IDEMPOTENCY_KEY',
        `mapping.idempotencyKey must give a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, not ${describe(value)}`,
      );
    }
    return value;
  }

  #writeBack(
    evaluated: Evaluated,
    payload: Record<string, unknown>,
    idempotencyKey: string,
    recordId: string | undefined,
  ): WriteBackTarget[] {
    let field: string;
    let raw: unknown;
    if (evaluated.configured) {
      field = 'mapping.writeBack';
      // JSONata returns a one-element sequence as the element itself.
      raw = evaluated.value === undefined || evaluated.value === null ? [] : [evaluated.value].flat();
    } else {
      field = 'Write_Back__c';
      raw = parseJsonField(payload, field, []);
      if (!Array.isArray(raw)) {
        throw new EventRejected(
          'EVENT_BAD_WRITE_BACK',
          `${field} must hold a JSON array of targets, not ${describe(raw)}`,
        );
      }
    }
    const targets = raw as unknown[];
    if (targets.length > MAX_WRITE_BACK_TARGETS) {
      throw new EventRejected(
        'EVENT_BAD_WRITE_BACK',
        `${field} has ${targets.length} targets; at most ${MAX_WRITE_BACK_TARGETS} are allowed`,
      );
    }
    return targets.map((target, index) => {
      if (!isPlainObject(target)) {
        throw new EventRejected(
          'EVENT_BAD_WRITE_BACK',
          `${field}[${index}] must be an object, not ${describe(target)}`,
        );
      }
      const parsed = writeBackTargetSchema.safeParse(this.#withDefaults(target, idempotencyKey, recordId));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const path = issue?.path.length ? `.${issue.path.join('.')}` : '';
        throw new EventRejected('EVENT_BAD_WRITE_BACK', `${field}[${index}]${path}: ${issue?.message ?? 'invalid'}`);
      }
      return parsed.data;
    });
  }

  /** Salesforce targets default to this org, the event's record and the call's idempotency key. */
  #withDefaults(
    target: Record<string, unknown>,
    idempotencyKey: string,
    recordId: string | undefined,
  ): Record<string, unknown> {
    if (typeof target.type !== 'string' || !SALESFORCE_TARGET_TYPES.has(target.type)) return target;
    const filled: Record<string, unknown> = { ...target, org: target.org ?? this.org };
    if (target.type === 'salesforce-record') {
      if (filled.recordId === undefined && recordId !== undefined) filled.recordId = recordId;
    } else {
      if (filled.relatedRecordId === undefined && recordId !== undefined) filled.relatedRecordId = recordId;
      filled.requestId ??= idempotencyKey;
    }
    return filled;
  }
}

type Evaluated = { configured: false } | { configured: true; value: unknown };

const cache = new WeakMap<object, Map<string, EventMapper>>();

/**
 * Maps one event with the channel's mapping, compiling its expressions on first use (cached per
 * channel configuration object). Long-running code should hold an `EventMapper` instead.
 */
export function mapPlatformEvent(message: unknown, context: EventMappingContext): Promise<ToolCallRequest> {
  let byOrg = cache.get(context.channelConfig);
  if (!byOrg) {
    byOrg = new Map();
    cache.set(context.channelConfig, byOrg);
  }
  let mapper = byOrg.get(context.org);
  if (!mapper) {
    mapper = new EventMapper(context);
    byOrg.set(context.org, mapper);
  }
  return mapper.map(message);
}

/** The replay id of a delivered message, when it has one (checked before mapping). */
export function replayIdOf(message: unknown): number | undefined {
  if (!isPlainObject(message) || !isPlainObject(message.event)) return undefined;
  const { replayId } = message.event;
  return typeof replayId === 'number' && Number.isInteger(replayId) ? replayId : undefined;
}

function envelopeOf(message: unknown): PlatformEventMessage {
  const replayId = replayIdOf(message);
  if (replayId === undefined || !isPlainObject(message) || !isPlainObject(message.payload)) {
    throw new EventRejected('EVENT_MALFORMED', 'the message has no payload object or no integer event.replayId');
  }
  return message as unknown as PlatformEventMessage;
}

function argumentsOf(evaluated: Evaluated, payload: Record<string, unknown>): Record<string, unknown> {
  const field = evaluated.configured ? 'mapping.arguments' : 'Arguments__c';
  const value = evaluated.configured ? (evaluated.value ?? {}) : parseJsonField(payload, field, {});
  if (!isPlainObject(value)) {
    throw new EventRejected('EVENT_BAD_ARGUMENTS', `${field} must hold a JSON object, not ${describe(value)}`);
  }
  return value;
}

function toolOf(evaluated: Evaluated, field: string, payload: Record<string, unknown>): string {
  const value = evaluated.configured ? evaluated.value : payload.Tool__c;
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    throw new EventRejected('EVENT_TOOL_MISSING', `${field} is empty: the event names no tool`);
  }
  if (typeof value !== 'string' || value.trim().length > MAX_TOOL_LENGTH) {
    throw new EventRejected(
      'EVENT_BAD_TOOL',
      `${field} must be a tool name of 1 to ${MAX_TOOL_LENGTH} characters, not ${describe(value)}`,
    );
  }
  return value.trim();
}

/** A JSON-in-a-text-field value: blank is `empty`; anything else must parse. */
function parseJsonField(payload: Record<string, unknown>, field: string, empty: unknown): unknown {
  const raw = payload[field];
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return empty;
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new EventRejected('EVENT_BAD_JSON', `${field} is not valid JSON: ${(error as Error).message}`);
  }
}

function nonBlankString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  return `a ${typeof value}`;
}
