import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';

type Reply = Extract<JSONRPCMessage, { id: string | number }> & ({ result: unknown } | { error: unknown });

/**
 * An SDK transport for one request and its one response, with no stream: what plain
 * `POST /message` callers (Apex, curl) need. Notifications the server emits on the way
 * (progress) have nowhere to go and are dropped.
 */
export class SingleExchangeTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  #pending: { id: string | number; resolve: (reply: Reply) => void; timer: NodeJS.Timeout | undefined } | undefined;

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.#pending || !('id' in message) || message.id !== this.#pending.id) return;
    if ('result' in message || 'error' in message) this.#settle(message as Reply);
  }

  async close(): Promise<void> {
    this.onclose?.();
  }

  /**
   * Delivers a request and resolves with the server's response to it. Always resolves: when the
   * SDK drops the request (it does so, silently, with a message it cannot read) the exchange ends
   * through `failPending`, and at the latest after `timeoutMs`.
   */
  exchange(
    request: JSONRPCMessage & { id: string | number },
    extra: MessageExtraInfo,
    timeoutMs?: number,
  ): Promise<Reply> {
    return new Promise<Reply>((resolve) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(
              () => this.failPending(`no response within ${timeoutMs} ms`, 'BROKER_INTERNAL'),
              timeoutMs,
            ).unref();
      this.#pending = { id: request.id, resolve, timer };
      try {
        this.onmessage?.(request, extra);
      } catch (err) {
        this.failPending(`the message could not be dispatched (${(err as Error).message})`, 'BROKER_INTERNAL');
      }
    });
  }

  /**
   * Ends the pending exchange with an internal error: the server reported that it could not
   * handle the message, so no response will come.
   */
  failPending(reason: string, code: 'BROKER_INTERNAL'): boolean {
    const pending = this.#pending;
    if (!pending) return false;
    this.#settle({
      jsonrpc: '2.0',
      id: pending.id,
      error: { code: -32603, message: `The request was not answered: ${reason}.`, data: { code } },
    } as Reply);
    return true;
  }

  #settle(reply: Reply): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    clearTimeout(pending.timer);
    pending.resolve(reply);
  }

  /**
   * Ends the pending exchange with a cancellation error: the SDK sends no response for a
   * cancelled request, but an HTTP caller still waiting must get one.
   */
  cancelPending(reason: string): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#settle({
      jsonrpc: '2.0',
      id: pending.id,
      error: { code: -32800, message: `Request cancelled: ${reason}`, data: { code: 'BROKER_TOOL_CANCELLED' } },
    } as Reply);
  }

  /** Delivers a notification (or a cancellation of the pending request). */
  notify(notification: JSONRPCMessage, extra: MessageExtraInfo): void {
    this.onmessage?.(notification, extra);
  }
}
