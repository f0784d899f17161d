import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyCallbackSignature } from '@mcp-broker/broker';

/**
 * How the receiver answers. Faults apply to every `every`-th call (by order of its first arrival),
 * to that call's first `times` attempts; every other attempt is answered 200 at once.
 * - `fail`: 503;
 * - `stall`: waits `stallMs` (longer than the broker's delivery timeout), processes, then answers 200;
 * - `throttle`: 429 with `Retry-After: retryAfterSeconds`.
 */
export type ReceiverFault =
  | { kind: 'none' }
  | { kind: 'fail'; every: number; times: number }
  | { kind: 'stall'; every: number; times: number; stallMs: number }
  | { kind: 'throttle'; every: number; times: number; retryAfterSeconds: number };

export interface Delivery {
  key: string;
  callId: string;
  /** The call's own idempotency key (the submission's header, or the event's Request_Id__c). */
  callKey: string;
  status: string;
  /** Attempts that reached the receiver, whatever it answered. */
  arrivals: number;
  /** Deliveries the receiver processed (answered, or would have answered, 2xx): a duplicate is a second one. */
  processed: number;
}

/**
 * The caller's callback endpoint: verifies each signature, answers as its fault plan says, and
 * counts deliveries per Idempotency-Key (the broker's stable key per call and target).
 * `onProcessed` runs right after a delivery is processed and answered (the worker-kill-after-ack
 * scenario kills the worker there).
 */
export class ChaosReceiver {
  readonly #server: Server;
  readonly #secret: string;
  readonly byKey = new Map<string, Delivery>();
  /** The first target's delivery of each call, by the call's idempotency key. */
  readonly byCallKey = new Map<string, Delivery>();
  readonly #order = new Map<string, number>();
  fault: ReceiverFault = { kind: 'none' };
  onProcessed: ((delivery: Delivery) => void) | undefined;
  badSignatures = 0;
  missingKeys = 0;
  arrivals = 0;
  readonly #stalls = new Set<NodeJS.Timeout>();

  private constructor(server: Server, secret: string) {
    this.#server = server;
    this.#secret = secret;
  }

  static async start(secret: string): Promise<ChaosReceiver> {
    const server = createServer();
    const receiver = new ChaosReceiver(server, secret);
    server.on('request', (req, res) => receiver.#handle(req, res));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return receiver;
  }

  get host(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get url(): string {
    return `http://${this.host}/callback`;
  }

  /** Keys processed at least once. */
  processedKeys(): number {
    let n = 0;
    for (const d of this.byKey.values()) if (d.processed > 0) n += 1;
    return n;
  }

  #handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.arrivals += 1;
      const raw = Buffer.concat(chunks).toString('utf8');
      const signature = req.headers['x-mcp-broker-signature'];
      if (!verifyCallbackSignature(raw, typeof signature === 'string' ? signature : undefined, this.#secret)) {
        this.badSignatures += 1;
        res.writeHead(401).end();
        return;
      }
      const key = req.headers['idempotency-key'];
      if (typeof key !== 'string' || !key) {
        this.missingKeys += 1;
        res.writeHead(400).end();
        return;
      }
      const body = JSON.parse(raw) as { id: string; status: string; idempotencyKey: string };
      let delivery = this.byKey.get(key);
      if (!delivery) {
        delivery = {
          key,
          callId: body.id,
          callKey: body.idempotencyKey,
          status: body.status,
          arrivals: 0,
          processed: 0,
        };
        this.byKey.set(key, delivery);
        this.byCallKey.set(body.idempotencyKey, delivery);
        this.#order.set(key, this.#order.size);
      }
      delivery.arrivals += 1;
      const d = delivery;
      const fault = this.fault;
      const faulted = fault.kind !== 'none' && this.#order.get(key)! % fault.every === 0 && d.arrivals <= fault.times;
      const process = () => {
        d.processed += 1;
        d.status = body.status;
        if (!res.destroyed) res.writeHead(200).end();
        this.onProcessed?.(d);
      };
      if (!faulted) return process();
      if (fault.kind === 'fail') res.writeHead(503).end();
      else if (fault.kind === 'throttle') {
        res.writeHead(429, { 'retry-after': String(fault.retryAfterSeconds) }).end();
      } else if (fault.kind === 'stall') {
        // A slow receiver does its work whether or not the broker is still waiting for the answer.
        const timer = setTimeout(() => {
          this.#stalls.delete(timer);
          process();
        }, fault.stallMs);
        this.#stalls.add(timer);
      }
    });
  }

  close(): Promise<void> {
    for (const t of this.#stalls) clearTimeout(t);
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
