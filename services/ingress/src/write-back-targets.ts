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
    const given = Object.fromEntries(Object.entries(target).filter(([, v]) => v !== undefined));
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
