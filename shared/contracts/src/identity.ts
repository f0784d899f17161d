import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The verified caller, derived from a bearer token. Tools and audit records see this,
 * never the token itself.
 */
export const identitySchema = z.object({
  /** Stable id of the calling application or user (Entra `oid`/`azp`/`appid`, else `sub`/`client_id`). */
  subject: z.string().min(1),
  /** Client application id when the token names one (Entra `azp`/`appid`, RFC 9068 `client_id`). */
  clientAppId: z.string().optional(),
  /** Exact issuer the token was verified against. */
  issuer: z.string(),
  /** Entra tenant id (`tid`) when present. */
  tenantId: z.string().optional(),
  /** `app` for app-only tokens (roles), `delegated` for user tokens (scp). */
  tokenKind: z.enum(['app', 'delegated']),
  /** Union of `scp`, `roles` and `scope` values. */
  permissions: z.array(z.string()),
});
export type Identity = z.infer<typeof identitySchema>;

/**
 * The one key for everything kept per caller (memories, SSE session ownership, rate-limit counters,
 * cancellation): a subject is only unique within its issuer, so two trusted issuers may both issue
 * `sub: app-1` for different callers. sha256 of issuer and subject; the issuer is an exact configured
 * URL, so the separator cannot be forged by a token. Stored memories are partitioned by this value.
 */
export function identityKey(identity: Pick<Identity, 'issuer' | 'subject'>): string {
  return createHash('sha256').update(`${identity.issuer}|${identity.subject}`).digest('hex');
}
