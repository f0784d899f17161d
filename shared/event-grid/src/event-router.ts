import type { EventGridRoute } from '@mcp-broker/broker-config';
import { type WriteBackTarget, writeBackTargetSchema } from '@mcp-broker/contracts';
import jsonata from 'jsonata';
import type { InboundEvent } from './inbound-event.ts';

/** What a route makes of one event. */
export interface RoutedCall {
  tool: string;
  arguments: Record<string, unknown>;
  writeBack: WriteBackTarget[];
  /** Index of the route in the subscription's `routes`. */
  route: number;
}

/** Why an event cannot become a call: no route matches it, or its route's expressions fail on it. */
export class RouteProblem extends Error {
  override readonly name = 'RouteProblem';
  readonly code: 'BROKER_EVENT_GRID_NO_ROUTE' | 'BROKER_EVENT_GRID_EVENT_INVALID';
  readonly field: string;
  constructor(code: RouteProblem['code'], field: string, message: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

/** Longest one expression may run on one event, and how deep it may recurse (JSONata's own guards). */
const EXPRESSION_LIMITS = { timeout: 1_000, stack: 500 };
const MAX_WRITE_BACK_TARGETS = 10;

interface CompiledRoute {
  config: EventGridRoute;
  arguments: jsonata.Expression | undefined;
  writeBack: jsonata.Expression | undefined;
}

/**
 * The routes of one subscription, compiled once. Matching follows Event Grid's own filters: event
 * types and subjects compare case-insensitively; `*` at the end of an event type is a prefix match.
 */
export class EventRouter {
  readonly #routes: CompiledRoute[];
  readonly #where: string;

  /** `where` names the subscription in messages (`eventGrid.push[orders]`). Expressions were checked when the configuration loaded. */
  constructor(routes: readonly EventGridRoute[], where: string) {
    this.#where = where;
    this.#routes = routes.map((config) => ({
      config,
      arguments: config.arguments === undefined ? undefined : jsonata(config.arguments, EXPRESSION_LIMITS),
      writeBack: config.writeBack === undefined ? undefined : jsonata(config.writeBack, EXPRESSION_LIMITS),
    }));
  }

  /** Maps an event to its call; throws `RouteProblem` naming the event (`at`) and what failed. */
  async route(event: InboundEvent, at: string, subscription: string): Promise<RoutedCall> {
    const index = this.#routes.findIndex((r) => matches(r.config, event));
    const route = this.#routes[index];
    if (!route) {
      throw new RouteProblem(
        'BROKER_EVENT_GRID_NO_ROUTE',
        at,
        `${at}: no route of ${this.#where} matches event type "${clip(event.type)}" with subject "${clip(event.subject ?? '')}"`,
      );
    }
    const input = {
      event,
      data: event.data,
      id: event.id,
      type: event.type,
      subject: event.subject,
      source: event.source,
      time: event.time,
      subscription,
    };
    const args = route.arguments ? await this.#evaluate(route.arguments, input, at, index, 'arguments') : event.data;
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new RouteProblem(
        'BROKER_EVENT_GRID_EVENT_INVALID',
        route.arguments ? `${at}` : `${at}.data`,
        route.arguments
          ? `${at}: routes[${index}].arguments must give a JSON object, not ${describe(args)}`
          : `${at}.data must be a JSON object (the tool's arguments), not ${describe(args)}`,
      );
    }
    const writeBack = route.writeBack ? await this.#evaluate(route.writeBack, input, at, index, 'writeBack') : [];
    return {
      tool: route.config.tool,
      arguments: args as Record<string, unknown>,
      writeBack: this.#targets(writeBack, at, index),
      route: index,
    };
  }

  async #evaluate(
    expression: jsonata.Expression,
    input: Record<string, unknown>,
    at: string,
    index: number,
    key: 'arguments' | 'writeBack',
  ): Promise<unknown> {
    try {
      const value: unknown = await expression.evaluate(input);
      // JSONata returns its own sequence objects; the broker stores plain JSON.
      return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
    } catch (error) {
      throw new RouteProblem(
        'BROKER_EVENT_GRID_EVENT_INVALID',
        at,
        `${at}: routes[${index}].${key} of ${this.#where} failed on this event: ${(error as Error).message}`,
      );
    }
  }

  #targets(value: unknown, at: string, index: number): WriteBackTarget[] {
    const list = value === undefined || value === null ? [] : [value].flat();
    if (list.length > MAX_WRITE_BACK_TARGETS) {
      throw new RouteProblem(
        'BROKER_EVENT_GRID_EVENT_INVALID',
        at,
        `${at}: routes[${index}].writeBack gives ${list.length} targets; at most ${MAX_WRITE_BACK_TARGETS} are allowed`,
      );
    }
    return list.map((target, i) => {
      const parsed = writeBackTargetSchema.safeParse(target);
      if (parsed.success) return parsed.data;
      const issue = parsed.error.issues[0];
      const path = issue?.path.length ? `.${issue.path.join('.')}` : '';
      throw new RouteProblem(
        'BROKER_EVENT_GRID_EVENT_INVALID',
        at,
        `${at}: routes[${index}].writeBack[${i}]${path}: ${issue?.message ?? 'invalid'}`,
      );
    });
  }
}

function matches(route: EventGridRoute, event: InboundEvent): boolean {
  const type = event.type.toLowerCase();
  const wanted = route.eventType.toLowerCase();
  const typeMatches = wanted.endsWith('*') ? type.startsWith(wanted.slice(0, -1)) : type === wanted;
  if (!typeMatches) return false;
  const subject = (event.subject ?? '').toLowerCase();
  if (route.subjectBeginsWith && !subject.startsWith(route.subjectBeginsWith.toLowerCase())) return false;
  if (route.subjectEndsWith && !subject.endsWith(route.subjectEndsWith.toLowerCase())) return false;
  return true;
}

function clip(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 120 ? `${printable.slice(0, 117)}...` : printable;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
