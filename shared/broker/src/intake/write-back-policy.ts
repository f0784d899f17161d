import { type CallerConfig, resolveSecret, type SalesforceOrgConfig } from '@mcp-broker/broker-config';
import { BrokerError, type WriteBackTarget } from '@mcp-broker/contracts';
import { CallbackUrlRejected, checkCallbackUrl } from '../delivery/callback-url-policy.ts';

/**
 * The configured destinations other than Salesforce orgs that write-back targets name, each with
 * the callers it is open to (`databricks.workspaces`, `serviceBus.targets`, `eventGrid.topics`).
 */
export interface WriteBackDestinations {
  databricksWorkspaces?: readonly { id: string; caller: string }[];
  serviceBusTargets?: readonly { id: string; callers: readonly string[] }[];
  eventGridTopics?: readonly { id: string; callers: readonly string[] }[];
}

/**
 * Which write-back targets a caller may ask for, checked at submission so a call never runs only to
 * find its result has nowhere allowed to go: callbacks to hosts on the caller's allowlist (and a
 * signing secret to sign them), Salesforce targets in orgs connected for this caller, and the
 * Databricks workspaces, Service Bus targets and Event Grid topics configured for it. The target
 * handlers check again at delivery (the configuration may have changed in between).
 */
export class WriteBackPolicy {
  readonly #orgs: ReadonlyMap<string, SalesforceOrgConfig>;
  readonly #env: Record<string, string | undefined>;
  readonly #workspaces: ReadonlyMap<string, readonly string[]>;
  readonly #serviceBus: ReadonlyMap<string, readonly string[]>;
  readonly #topics: ReadonlyMap<string, readonly string[]>;

  constructor(
    options: {
      salesforceOrgs: readonly SalesforceOrgConfig[];
      env: Record<string, string | undefined>;
    } & WriteBackDestinations,
  ) {
    this.#orgs = new Map(options.salesforceOrgs.map((o) => [o.id, o]));
    this.#env = options.env;
    this.#workspaces = new Map((options.databricksWorkspaces ?? []).map((w) => [w.id, [w.caller]]));
    this.#serviceBus = new Map((options.serviceBusTargets ?? []).map((t) => [t.id, t.callers]));
    this.#topics = new Map((options.eventGridTopics ?? []).map((t) => [t.id, t.callers]));
  }

  /** Throws a BrokerError naming `writeBack[i]…` for the first target the caller may not use. */
  check(caller: CallerConfig, targets: readonly WriteBackTarget[]): void {
    for (const [i, target] of targets.entries()) this.#checkOne(caller, target, i);
  }

  #checkOne(caller: CallerConfig, target: WriteBackTarget, i: number): void {
    switch (target.type) {
      case 'http-callback':
        this.#checkCallback(caller, target.url, i);
        break;
      case 'salesforce-record':
      case 'salesforce-result':
      case 'salesforce-event':
        this.#checkOrg(caller, target.org, i);
        break;
      case 'databricks-sql':
        this.#checkOpen(
          caller,
          this.#workspaces,
          target.workspace,
          `writeBack[${i}].workspace`,
          'Databricks workspace',
        );
        break;
      case 'service-bus':
        this.#checkOpen(
          caller,
          this.#serviceBus,
          target.destination,
          `writeBack[${i}].destination`,
          'Service Bus target',
        );
        break;
      case 'event-grid':
        this.#checkOpen(caller, this.#topics, target.topic, `writeBack[${i}].topic`, 'Event Grid topic');
        break;
      default: {
        // A new target kind must say here who may use it before the broker compiles.
        const unhandled: never = target;
        throw new Error(`Unhandled write-back target ${JSON.stringify(unhandled)}`);
      }
    }
  }

  #checkOpen(
    caller: CallerConfig,
    destinations: ReadonlyMap<string, readonly string[]>,
    id: string,
    field: string,
    what: string,
  ) {
    if (destinations.get(id)?.includes(caller.id)) return;
    // Another caller's destination reads the same as an unknown one: callers learn nothing of others.
    const mine = [...destinations].filter(([, callers]) => callers.includes(caller.id)).map(([d]) => d);
    throw new BrokerError(
      'BROKER_WRITE_BACK_NOT_ALLOWED',
      `${field}: no ${what} "${id.slice(0, 64)}" is configured for caller "${caller.id}"${
        mine.length ? ` (configured: ${mine.join(', ')})` : ''
      }.`,
      { details: { field } },
    );
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
