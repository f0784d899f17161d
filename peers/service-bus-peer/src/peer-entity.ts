/**
 * One queue, topic subscription or dead-letter sub-queue of the peer: its messages, their locks and
 * delivery counts, kept as Service Bus keeps them.
 *
 * - A received (peek-lock) message is locked for `lockDurationMs`; renewing extends the lock.
 * - Complete removes it; abandon or an expired lock makes it available again with its delivery
 *   count + 1; at `maxDeliveryCount` it moves to the dead-letter sub-queue with the reason
 *   `MaxDeliveryCountExceeded`.
 * - Dead-lettering puts `DeadLetterReason` / `DeadLetterErrorDescription` into the message's
 *   application properties and `x-opt-deadletter-source` into its annotations.
 */

import { randomUUID } from 'node:crypto';
import type { Message } from 'rhea';

export interface EntitySettings {
  /** Default 30,000 ms (the service's default lock duration is 60 s; tests want shorter). */
  lockDurationMs?: number;
  /** Default 10. */
  maxDeliveryCount?: number;
  /** Session-enabled: receivers lock one session (messages' `group_id`) and get only its messages, in order. */
  requiresSession?: boolean;
}

export interface StoredMessage {
  sequenceNumber: number;
  enqueuedAt: Date;
  /** Deliveries that did not end in a settlement (the AMQP header's delivery-count). */
  deliveryCount: number;
  /** The message as sent: properties, application properties, annotations and body. */
  message: Message;
  /** In a session the session's lock governs: the message lock has no timer of its own. */
  lock: { token: string; until: number; timer: NodeJS.Timeout | undefined } | undefined;
}

export type EntityKind = 'queue' | 'subscription' | 'dead-letter';

export class PeerEntity {
  readonly path: string;
  readonly kind: EntityKind;
  readonly lockDurationMs: number;
  readonly maxDeliveryCount: number;
  readonly requiresSession: boolean;
  readonly deadLetter: PeerEntity | undefined;
  readonly #messages: StoredMessage[] = [];
  readonly #nextSequence: () => number;
  readonly #onAvailable: () => void;

  constructor(options: {
    path: string;
    kind: EntityKind;
    settings: EntitySettings;
    nextSequence: () => number;
    onAvailable: () => void;
  }) {
    this.path = options.path;
    this.kind = options.kind;
    this.lockDurationMs = options.settings.lockDurationMs ?? 30_000;
    this.maxDeliveryCount = options.settings.maxDeliveryCount ?? 10;
    // The dead-letter sub-queue of a session entity is read without sessions, as on the service.
    this.requiresSession = options.kind !== 'dead-letter' && (options.settings.requiresSession ?? false);
    this.#nextSequence = options.nextSequence;
    this.#onAvailable = options.onAvailable;
    this.deadLetter =
      options.kind === 'dead-letter'
        ? undefined
        : new PeerEntity({ ...options, path: `${options.path}/$DeadLetterQueue`, kind: 'dead-letter' });
  }

  enqueue(message: Message, deliveryCount = 0): StoredMessage {
    const stored: StoredMessage = {
      sequenceNumber: this.#nextSequence(),
      enqueuedAt: new Date(),
      deliveryCount,
      message,
      lock: undefined,
    };
    this.#messages.push(stored);
    this.#onAvailable();
    return stored;
  }

  /** The messages in the entity (locked or not), oldest first. */
  messages(): readonly StoredMessage[] {
    return this.#messages;
  }

  /**
   * The oldest unlocked message (of the session, when one is given), locked now; or undefined. A
   * session message's lock lasts as long as its session's lock.
   */
  lockNext(now = Date.now(), session?: { id: string; until: number }): StoredMessage | undefined {
    const next = this.#messages.find(
      (stored) => !stored.lock && (session === undefined || stored.message.group_id === session.id),
    );
    if (!next) return undefined;
    const token = randomUUID();
    if (session) {
      next.lock = { token, until: session.until, timer: undefined };
      return next;
    }
    const timer = setTimeout(() => this.#lockExpired(next, token), this.lockDurationMs);
    timer.unref();
    next.lock = { token, until: now + this.lockDurationMs, timer };
    return next;
  }

  /** The session ids with an unlocked message, oldest message first. */
  sessionsWithMessages(): string[] {
    const ids: string[] = [];
    for (const stored of this.#messages) {
      const id = stored.message.group_id;
      if (!stored.lock && typeof id === 'string' && !ids.includes(id)) ids.push(id);
    }
    return ids;
  }

  /** The session's lock was lost or released: its locked messages are delivered again (count + 1). */
  releaseSession(sessionId: string): void {
    for (const stored of [...this.#messages]) {
      if (stored.lock && stored.message.group_id === sessionId) this.#returnOrDeadLetter(stored);
    }
  }

  /** Takes the oldest unlocked message out (receive-and-delete). */
  takeNext(): StoredMessage | undefined {
    const at = this.#messages.findIndex((stored) => !stored.lock);
    if (at < 0) return undefined;
    const [taken] = this.#messages.splice(at, 1);
    return taken;
  }

  /** The message holding this lock, while the lock is valid. */
  locked(token: string): StoredMessage | undefined {
    return this.#messages.find((stored) => stored.lock?.token === token);
  }

  renew(token: string, now = Date.now()): number | undefined {
    const stored = this.locked(token);
    if (!stored?.lock) return undefined;
    if (!stored.lock.timer) return stored.lock.until;
    clearTimeout(stored.lock.timer);
    const timer = setTimeout(() => this.#lockExpired(stored, token), this.lockDurationMs);
    timer.unref();
    stored.lock = { token, until: now + this.lockDurationMs, timer };
    return stored.lock.until;
  }

  complete(token: string): boolean {
    const stored = this.locked(token);
    if (!stored) return false;
    this.#remove(stored);
    return true;
  }

  /** Unlocks the message with its delivery count + 1 (dead-lettered at the maximum). */
  abandon(token: string, propertiesToModify?: Record<string, unknown>): boolean {
    const stored = this.locked(token);
    if (!stored) return false;
    if (propertiesToModify) this.#modify(stored, propertiesToModify);
    this.#returnOrDeadLetter(stored);
    return true;
  }

  /** Unlocks the message without counting a delivery (an unsettled prefetched message released). */
  release(token: string): boolean {
    const stored = this.locked(token);
    if (!stored?.lock) return false;
    clearTimeout(stored.lock.timer);
    stored.lock = undefined;
    this.#onAvailable();
    return true;
  }

  deadLetterLocked(
    token: string,
    reason: string | undefined,
    description: string | undefined,
    propertiesToModify?: Record<string, unknown>,
  ): boolean {
    const stored = this.locked(token);
    if (!stored) return false;
    if (propertiesToModify) this.#modify(stored, propertiesToModify);
    this.#moveToDeadLetter(stored, reason, description);
    return true;
  }

  #lockExpired(stored: StoredMessage, token: string): void {
    if (stored.lock?.token !== token) return;
    this.#returnOrDeadLetter(stored);
  }

  #returnOrDeadLetter(stored: StoredMessage): void {
    if (stored.lock) clearTimeout(stored.lock.timer);
    stored.lock = undefined;
    stored.deliveryCount += 1;
    if (this.deadLetter && stored.deliveryCount >= this.maxDeliveryCount) {
      this.#moveToDeadLetter(
        stored,
        'MaxDeliveryCountExceeded',
        `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`,
      );
      return;
    }
    this.#onAvailable();
  }

  #moveToDeadLetter(stored: StoredMessage, reason: string | undefined, description: string | undefined): void {
    this.#remove(stored);
    if (!this.deadLetter) return;
    const applicationProperties: Record<string, unknown> = { ...(stored.message.application_properties ?? {}) };
    if (reason !== undefined) applicationProperties.DeadLetterReason = reason;
    if (description !== undefined) applicationProperties.DeadLetterErrorDescription = description;
    this.deadLetter.enqueue(
      {
        ...stored.message,
        application_properties: applicationProperties,
        message_annotations: { ...(stored.message.message_annotations ?? {}), 'x-opt-deadletter-source': this.path },
      },
      stored.deliveryCount,
    );
  }

  #modify(stored: StoredMessage, properties: Record<string, unknown>): void {
    stored.message = {
      ...stored.message,
      application_properties: { ...(stored.message.application_properties ?? {}), ...properties },
    };
  }

  #remove(stored: StoredMessage): void {
    if (stored.lock) clearTimeout(stored.lock.timer);
    stored.lock = undefined;
    const at = this.#messages.indexOf(stored);
    if (at >= 0) this.#messages.splice(at, 1);
  }

  /** Stops every lock timer (the peer is closing). */
  dispose(): void {
    for (const stored of this.#messages) if (stored.lock) clearTimeout(stored.lock.timer);
    this.deadLetter?.dispose();
  }
}
