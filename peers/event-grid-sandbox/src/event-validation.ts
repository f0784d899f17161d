/**
 * What the service checks on each published event: the required attributes of its schema, their
 * types, and the spec version. A problem names the event's index and the attribute, as the service's
 * `details` do.
 */

const MAX_ID_LENGTH = 1024;

export function eventGridEventProblem(event: unknown, index: number): string | undefined {
  if (!isObject(event)) return `events[${index}] is not an object`;
  for (const name of ['id', 'subject', 'eventType', 'dataVersion'] as const) {
    if (typeof event[name] !== 'string' || (name !== 'dataVersion' && event[name] === '')) {
      return `events[${index}].${name} is required and must be a non-empty string`;
    }
  }
  if ((event.id as string).length > MAX_ID_LENGTH) return `events[${index}].id is longer than ${MAX_ID_LENGTH}`;
  if (typeof event.eventTime !== 'string' || Number.isNaN(Date.parse(event.eventTime))) {
    return `events[${index}].eventTime is required and must be an ISO 8601 time`;
  }
  if (event.metadataVersion !== undefined && event.metadataVersion !== '1') {
    return `events[${index}].metadataVersion must be "1"`;
  }
  return undefined;
}

export function cloudEventProblem(event: unknown, index: number): string | undefined {
  if (!isObject(event)) return `events[${index}] is not an object`;
  if (event.specversion !== '1.0') return `events[${index}].specversion must be "1.0"`;
  for (const name of ['id', 'source', 'type'] as const) {
    if (typeof event[name] !== 'string' || event[name] === '') {
      return `events[${index}].${name} is required and must be a non-empty string`;
    }
  }
  if ((event.id as string).length > MAX_ID_LENGTH) return `events[${index}].id is longer than ${MAX_ID_LENGTH}`;
  for (const name of ['subject', 'time', 'datacontenttype', 'dataschema'] as const) {
    if (event[name] !== undefined && typeof event[name] !== 'string')
      return `events[${index}].${name} must be a string`;
  }
  if (event.time !== undefined && Number.isNaN(Date.parse(event.time as string))) {
    return `events[${index}].time must be an RFC 3339 time`;
  }
  if (event.data !== undefined && event.data_base64 !== undefined) {
    return `events[${index}] has both data and data_base64`;
  }
  for (const name of Object.keys(event)) {
    if (name !== 'data_base64' && !/^[a-z0-9]{1,20}$/.test(name)) {
      return `events[${index}] attribute "${name.slice(0, 40)}" is not a valid CloudEvents attribute name`;
    }
  }
  return undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The service's 1 MB limit on a published batch and on one event (docs: Event Grid quotas and limits). */
export const MAX_PUBLISH_BYTES = 1_048_576;

export function badRequest(code: string, message: string) {
  return { status: 400, body: { error: { code: 'BadRequest', message, details: [{ code, message }] } } };
}
