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
  #pending: { id: string | number; resolve: (reply: Reply) => void } | undefined;

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.#pending || !('id' in message) || message.id !== this.#pending.id) return;
    if ('result' in message || 'error' in message) this.#pending.resolve(message as Reply);
  }

  async close(): Promise<void> {
    this.onclose?.();
  }

  /** Delivers a request and resolves with the server's response to it. */
  exchange(request: JSONRPCMessage & { id: string | number }, extra: MessageExtraInfo): Promise<Reply> {
    return new Promise<Reply>((resolve) => {
      this.#pending = { id: request.id, resolve };
      this.onmessage?.(request, extra);
    });
  }

  /**
   * Ends the pending exchange with a cancellation error: the SDK sends no response for a
   * cancelled request, but an HTTP caller still waiting must get one.
   */
  cancelPending(reason: string): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    pending.resolve({
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
