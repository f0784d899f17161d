/**
 * A failed login to a connected org. The message names the org, the flow and Salesforce's own
 * `error` / `error_description`; secrets (client secret, private key, assertion, tokens) are never
 * part of it.
 */
export class SalesforceLoginError extends Error {
  override readonly name = 'SalesforceLoginError';
  /** The org id from the configuration. */
  readonly orgId: string;
  /** `client-credentials` or `jwt-bearer`. */
  readonly flow: string;
  /** Salesforce's `error` (e.g. `invalid_client`), `ERROR_HTTP_<status>`, or ours (`secret_missing`, `invalid_private_key`, `unreachable`). */
  readonly error: string;
  /** Salesforce's `error_description`, or ours. */
  readonly description: string;
  /** Whether trying again later may succeed (network errors, 5xx, `unknown_error`). */
  readonly transient: boolean;

  constructor(fields: { orgId: string; flow: string; error: string; description: string; transient: boolean }) {
    super(`Salesforce login to org "${fields.orgId}" failed (${fields.flow}): ${fields.error}: ${fields.description}`);
    this.orgId = fields.orgId;
    this.flow = fields.flow;
    this.error = fields.error;
    this.description = fields.description;
    this.transient = fields.transient;
  }
}
