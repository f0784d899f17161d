/**
 * Faults a test can inject, each answered the way Salesforce answers it:
 *
 * | fault | what the client sees |
 * |---|---|
 * | `expireSessions()` | REST: 401 `INVALID_SESSION_ID`; Streaming: `401::Authentication invalid` on `/meta/connect` (advice `reconnect: none`), `403::Handshake denied` with `ext.sfdc.failureReason` on a new handshake |
 * | `requestLimitExceeded()` | REST: 403 `REQUEST_LIMIT_EXCEEDED` |
 * | `serverError()` | REST: 500 `UNKNOWN_EXCEPTION` with an ErrorId |
 * | `lockRows()` | a write of a stored record fails `UNABLE_TO_LOCK_ROW` (400; a failed item in a collection) |
 * | `refuseReplay()` | a `/meta/subscribe` with a specific replay id is refused as if it were out of retention |
 * | `dropStreamingClients()` | the server forgets every Bayeux client: the next `/meta/connect` answers `403::Unknown client` with advice `reconnect: handshake` |
 *
 * Counted faults fire on the next `count` matching requests (default 1; `Infinity` until `clear()`).
 */

export interface CountedFault {
  /** How many matching requests the fault hits. Default 1; `Infinity` until `clear()`. */
  count?: number;
}

export interface RowLockFault extends CountedFault {
  /** Only writes of this object (API name); default any stored object. */
  sobject?: string;
}

export interface ReplayRefusalFault extends CountedFault {
  /** Only subscriptions to this channel; default any. */
  channel?: string;
}

export interface SalesforceFaults {
  expireSessions(): void;
  requestLimitExceeded(fault?: CountedFault): void;
  serverError(fault?: CountedFault): void;
  lockRows(fault?: RowLockFault): void;
  refuseReplay(fault?: ReplayRefusalFault): void;
  dropStreamingClients(): void;
  /** Removes every pending counted fault. */
  clear(): void;
}

interface Pending {
  remaining: number;
  matches: (target: string) => boolean;
}

function take(pending: Pending[], target: string): boolean {
  const hit = pending.find((fault) => fault.remaining > 0 && fault.matches(target));
  if (!hit) return false;
  hit.remaining -= 1;
  return true;
}

const countOf = (fault: CountedFault | undefined) => fault?.count ?? 1;

/** Holds the counted faults; the endpoints ask it before answering. */
export class FaultInjector {
  private readonly requestLimits: Pending[] = [];
  private readonly serverErrors: Pending[] = [];
  private readonly rowLocks: Pending[] = [];
  private readonly replayRefusals: Pending[] = [];

  requestLimitExceeded(fault?: CountedFault): void {
    this.requestLimits.push({ remaining: countOf(fault), matches: () => true });
  }

  serverError(fault?: CountedFault): void {
    this.serverErrors.push({ remaining: countOf(fault), matches: () => true });
  }

  lockRows(fault?: RowLockFault): void {
    const sobject = fault?.sobject?.toLowerCase();
    this.rowLocks.push({ remaining: countOf(fault), matches: (name) => !sobject || name.toLowerCase() === sobject });
  }

  refuseReplay(fault?: ReplayRefusalFault): void {
    const channel = fault?.channel;
    this.replayRefusals.push({ remaining: countOf(fault), matches: (name) => !channel || name === channel });
  }

  takeRequestLimit = (): boolean => take(this.requestLimits, '');
  takeServerError = (): boolean => take(this.serverErrors, '');
  takeRowLock = (sobject: string): boolean => take(this.rowLocks, sobject);
  takeReplayRefusal = (channel: string): boolean => take(this.replayRefusals, channel);

  clear(): void {
    for (const list of [this.requestLimits, this.serverErrors, this.rowLocks, this.replayRefusals]) list.length = 0;
  }
}

/** The `faults` object of the sandbox handle: counted faults plus the two immediate actions. */
export function buildFaults(
  injector: FaultInjector,
  actions: { expireSessions: () => void; dropStreamingClients: () => void },
): SalesforceFaults {
  return {
    expireSessions: actions.expireSessions,
    dropStreamingClients: actions.dropStreamingClients,
    requestLimitExceeded: (fault) => injector.requestLimitExceeded(fault),
    serverError: (fault) => injector.serverError(fault),
    lockRows: (fault) => injector.lockRows(fault),
    refuseReplay: (fault) => injector.refuseReplay(fault),
    clear: () => injector.clear(),
  };
}
