/** Duplicate detection of an entity: a messageId seen within the window is dropped (the send still succeeds). */
export class DuplicateWindow {
  readonly #windowMs: number | undefined;
  readonly #seen = new Map<string, number>();

  /** `windowMs` undefined: detection off. */
  constructor(windowMs: number | undefined) {
    this.#windowMs = windowMs;
  }

  /** Records the id; true when it was already seen within the window. */
  seen(messageId: unknown, now = Date.now()): boolean {
    if (this.#windowMs === undefined || messageId === undefined || messageId === null) return false;
    const key = String(messageId);
    const at = this.#seen.get(key);
    if (at !== undefined && now - at < this.#windowMs) return true;
    this.#seen.set(key, now);
    return false;
  }
}
