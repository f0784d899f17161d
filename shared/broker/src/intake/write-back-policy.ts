import { type CallerConfig, resolveSecret, type SalesforceOrgConfig } from '@mcp-broker/broker-config';
import { BrokerError, type WriteBackTarget } from '@mcp-broker/contracts';
import { CallbackUrlRejected, checkCallbackUrl } from '../delivery/callback-url-policy.ts';

/**
 * Which write-back targets a caller may ask for, checked at submission so a call never runs only to
 * find its result has nowhere allowed to go: callbacks to hosts on the caller's allowlist (and a
 * signing secret to sign them), Salesforce targets in orgs connected for this caller.
 */
export class WriteBackPolicy {
  readonly #orgs: ReadonlyMap<string, SalesforceOrgConfig>;
  readonly #env: Record<string, string | undefined>;

  constructor(options: { salesforceOrgs: readonly SalesforceOrgConfig[]; env: Record<string, string | undefined> }) {
    this.#orgs = new Map(options.salesforceOrgs.map((o) => [o.id, o]));
    this.#env = options.env;
  }

  /** Throws a BrokerError naming `writeBack[i]…` for the first target the caller may not use. */
  check(caller: CallerConfig, targets: readonly WriteBackTarget[]): void {
    targets.forEach((target, i) => {
      if (target.type === 'http-callback') this.#checkCallback(caller, target.url, i);
      else if ('org' in target) this.#checkOrg(caller, target.org, i);
    });
  }

  #checkCallback(caller: CallerConfig, url: string, i: number) {
    try {
      checkCallbackUrl(url, { hosts: caller.callbackHosts, allowPrivate: caller.allowPrivateCallbacks });
    } catch (err) {
      if (!(err instanceof CallbackUrlRejected)) throw err;
      throw new BrokerError('BROKER_CALLBACK_NOT_ALLOWED', `writeBack[${i}].url: ${err.message}`, {
        details: { field: `writeBack[${i}].url` },
      });
    }
    if (!caller.callbackSigningSecret) {
      throw new BrokerError(
        'BROKER_CALLBACK_NOT_ALLOWED',
        `writeBack[${i}]: caller "${caller.id}" has no callbackSigningSecret configured, so callbacks cannot be signed.`,
        { details: { field: `writeBack[${i}]` } },
      );
    }
    resolveSecret(caller.callbackSigningSecret, this.#env);
  }

  #checkOrg(caller: CallerConfig, org: string, i: number) {
    const config = this.#orgs.get(org);
    // An org of another caller reads the same as an unknown one: callers learn nothing of others.
    if (config?.caller !== caller.id) {
      const mine = [...this.#orgs.values()].filter((o) => o.caller === caller.id).map((o) => o.id);
      throw new BrokerError(
        'BROKER_WRITE_BACK_NOT_ALLOWED',
        `writeBack[${i}].org: no Salesforce org "${org.slice(0, 64)}" is connected for caller "${caller.id}"${
          mine.length ? ` (connected: ${mine.join(', ')})` : ''
        }.`,
        { details: { field: `writeBack[${i}].org` } },
      );
    }
  }
}
