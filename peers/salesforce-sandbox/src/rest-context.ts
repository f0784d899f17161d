/** What a REST resource handler receives and answers. */

import type { DeliveredEvent } from './event-bus.ts';
import type { RestFailure } from './salesforce-errors.ts';
import type { Session } from './session-store.ts';
import type { SObjectSchema } from './sobject-schema.ts';
import type { PendingEvent, SObjectStore } from './sobject-store.ts';

export interface RestContext {
  method: string;
  /** Path segments after `/services/data/vXX.X/`, URI-decoded. */
  segments: string[];
  query: URLSearchParams;
  /** The parsed JSON body, or undefined when there is none. */
  body: unknown;
  /** The API version the request's URL names, e.g. `62.0`. */
  apiVersion: string;
  session: Session;
}

export interface RestResult {
  status: number;
  /** JSON body; undefined for 204 No Content. */
  body?: unknown;
}

/** What the resources read and write through. */
export interface RestServices {
  schema: SObjectSchema;
  store: SObjectStore;
  publish(event: PendingEvent): DeliveredEvent;
}

export const fromFailure = (failure: RestFailure): RestResult => ({ status: failure.status, body: failure.errors });

export const methodNotAllowed = (method: string, allowed: string[]): RestResult => ({
  status: 405,
  body: [
    {
      errorCode: 'METHOD_NOT_ALLOWED',
      message: `HTTP Method '${method}' not allowed. Allowed are ${allowed.join(',')}`,
    },
  ],
});

/** `created` appears in upsert results from API version 46.0 on. */
export const reportsCreated = (apiVersion: string) => Number.parseFloat(apiVersion) >= 46;
