import {
  type ApiWriteBackTarget,
  BrokerError,
  type WriteBackTarget,
  writeBackTargetSchema,
} from '@mcp-broker/contracts';

/**
 * The API takes every target kind as one flat object (External Services accepts no oneOf); each is
 * checked here against its own kind's schema, and a problem names `body.writeBack[i].<field>`.
 */
export function toWriteBackTargets(targets: readonly ApiWriteBackTarget[]): WriteBackTarget[] {
  const fields: { field: string; problem: string }[] = [];
  const parsed = targets.map((target, i) => {
    const given = Object.fromEntries(Object.entries(fromApiNames(target)).filter(([, v]) => v !== undefined));
    const result = writeBackTargetSchema.safeParse(given);
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      fields.push({ field: ['body', `writeBack[${i}]`, ...issue.path.map(String)].join('.'), problem: issue.message });
    }
    return undefined;
  });
  if (fields.length > 0) {
    throw new BrokerError(
      'BROKER_VALIDATION_FAILED',
      `Invalid request: ${fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}.`,
      { details: { fields } },
    );
  }
  return parsed as WriteBackTarget[];
}

/**
 * The names the OpenAPI document uses (kind, objectApiName, fieldMappings: names External Services
 * keeps) to the target's own (type, sobject, fields), which older clients send and still may.
 */
function fromApiNames(target: ApiWriteBackTarget): Record<string, unknown> {
  const { kind, objectApiName, fieldMappings, ...rest } = target;
  return {
    ...rest,
    type: rest.type ?? kind,
    sobject: rest.sobject ?? objectApiName,
    fields:
      rest.fields ??
      (fieldMappings ? Object.fromEntries(fieldMappings.map((m) => [m.field, m.expression])) : undefined),
  };
}
