import { DeliveryError } from '@mcp-broker/broker';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import jsonata from 'jsonata';

/** What a field mapping's JSONata expressions see. */
export interface OutcomeContext {
  /** `succeeded`, `failed` or `cancelled` (write-backs run once the call is final). */
  status: ToolCallRecord['status'];
  tool: string;
  /** The MCP `CallToolResult`, when the tool answered. */
  result: unknown;
  /** `result.structuredContent`. */
  structuredContent: unknown;
  /** The text blocks of `result.content`, joined with newlines; undefined when there are none. */
  text: string | undefined;
  /** The call's error (`{ code, message, deadLettered? }`) when it failed or was cancelled. */
  error: ToolCallRecord['error'];
  call: {
    id: string;
    idempotencyKey: string;
    caller: string;
    source: ToolCallRecord['source'];
    requestId: string;
    completedAt: string | undefined;
  };
}

/** A value a mapping writes to a field: `null` clears the field. */
export type FieldValue = string | number | boolean | null;

export interface FieldMappingOptions {
  /** Longest one expression may run, in ms (JSONata's guard against endless loops). Default 1,000. */
  timeoutMs?: number;
  /** Deepest recursion an expression may reach. Default 500. */
  maxDepth?: number;
}

export const MAPPING_FAILED = 'SALESFORCE_MAPPING_FAILED';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** The text content of an MCP `CallToolResult`, joined with newlines. */
export function resultText(result: unknown): string | undefined {
  if (!isObject(result) || !Array.isArray(result.content)) return undefined;
  const texts = result.content.flatMap((block) =>
    isObject(block) && block.type === 'text' && typeof block.text === 'string' ? [block.text] : [],
  );
  return texts.length > 0 ? texts.join('\n') : undefined;
}

/** `result.structuredContent`, when the result has one. */
export function structuredContentOf(result: unknown): unknown {
  return isObject(result) ? result.structuredContent : undefined;
}

/** The outcome of a call as mappings see it. */
export function outcomeContext(record: ToolCallRecord): OutcomeContext {
  return {
    status: record.status,
    tool: record.tool,
    result: record.result,
    structuredContent: structuredContentOf(record.result),
    text: resultText(record.result),
    error: record.error,
    call: {
      id: record.id,
      idempotencyKey: record.idempotencyKey,
      caller: record.caller,
      source: record.source,
      requestId: record.correlation.requestId,
      completedAt: record.completedAt,
    },
  };
}

function jsonataMessage(error: unknown): string {
  if (!isObject(error)) return String(error);
  const message = typeof error.message === 'string' ? error.message : String(error.code ?? 'unknown error');
  return typeof error.position === 'number' ? `${message} (at position ${error.position})` : message;
}

const mappingError = (field: string, detail: string) =>
  new DeliveryError('permanent', MAPPING_FAILED, `Mapping for field ${field} failed: ${detail}`);

/**
 * Turns one expression's result into a field value: `undefined` means "leave the field alone"
 * (returned as undefined), `null` clears it, objects and arrays are written as JSON text.
 */
function toFieldValue(field: string, value: unknown): FieldValue | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw mappingError(field, `the expression gave ${value}, which no field can hold`);
    return value;
  }
  const isLambda = isObject(value) && (value._jsonata_lambda === true || value._jsonata_function === true);
  if (typeof value === 'function' || isLambda) {
    throw mappingError(field, 'the expression gave a function, not a value');
  }
  try {
    return JSON.stringify(value);
  } catch (error) {
    throw mappingError(field, `the value cannot be written as JSON: ${(error as Error).message}`);
  }
}

/**
 * Evaluates a target's `fields` map (field API name → JSONata expression) over the outcome.
 *
 * - An expression that gives nothing (`undefined`, e.g. a path that does not exist, or
 *   `status = 'succeeded' ? structuredContent.url` on a failed call) leaves the field out of the
 *   update: the record keeps its value.
 * - `null` clears the field.
 * - Objects and arrays are written as their JSON text.
 * - An expression that does not compile or fails to evaluate is a permanent
 *   `SALESFORCE_MAPPING_FAILED` naming the field and JSONata's message.
 */
export async function evaluateFieldMapping(
  fields: Readonly<Record<string, string>>,
  context: OutcomeContext,
  options: FieldMappingOptions = {},
): Promise<Record<string, FieldValue>> {
  const guard = { timeout: options.timeoutMs ?? 1_000, stack: options.maxDepth ?? 500 };
  const values: Record<string, FieldValue> = {};
  for (const [field, source] of Object.entries(fields)) {
    let expression: jsonata.Expression;
    try {
      expression = jsonata(source, guard);
    } catch (error) {
      throw mappingError(field, `the expression does not compile: ${jsonataMessage(error)}`);
    }
    let value: unknown;
    try {
      value = await expression.evaluate(context);
    } catch (error) {
      throw mappingError(field, jsonataMessage(error));
    }
    const fieldValue = toFieldValue(field, value);
    if (fieldValue !== undefined) values[field] = fieldValue;
  }
  return values;
}
