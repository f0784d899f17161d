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
