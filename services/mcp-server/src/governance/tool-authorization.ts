import { BrokerError, type Identity } from '@mcp-broker/contracts';

/** The permissions a tool requires that the caller does not hold, in the tool's order. */
export function missingPermissions(required: readonly string[], identity: Identity): string[] {
  const held = new Set(identity.permissions);
  return required.filter((p) => !held.has(p));
}

export function canCall(required: readonly string[], identity: Identity): boolean {
  return missingPermissions(required, identity).length === 0;
}

/** Throws BROKER_TOOL_FORBIDDEN naming each missing permission. */
export function assertCanCall(tool: string, required: readonly string[], identity: Identity): void {
  const missing = missingPermissions(required, identity);
  if (missing.length === 0) return;
  throw new BrokerError(
    'BROKER_TOOL_FORBIDDEN',
    `Caller "${identity.subject}" lacks the permission${missing.length > 1 ? 's' : ''} ${missing
      .map((m) => `"${m}"`)
      .join(', ')} required by tool "${tool}".`,
    { details: { tool, missingPermissions: missing } },
  );
}
