import { randomBytes } from 'node:crypto';

/** Issued OAuth access tokens with their expiry, and the personal access tokens always accepted. */
export class TokenStore {
  readonly #issued = new Map<string, number>();
  readonly #personal: ReadonlySet<string>;
  readonly #now: () => Date;

  constructor(personalAccessTokens: readonly string[], now: () => Date) {
    this.#personal = new Set(personalAccessTokens);
    this.#now = now;
  }

  issue(lifetimeSeconds: number): string {
    // Databricks OAuth access tokens are JWTs; nothing here reads them, so an opaque value will do.
    const token = `dsb-${randomBytes(24).toString('base64url')}`;
    this.#issued.set(token, this.#now().getTime() + lifetimeSeconds * 1000);
    return token;
  }

  isValid(token: string): boolean {
    if (this.#personal.has(token)) return true;
    const expiresAt = this.#issued.get(token);
    return expiresAt !== undefined && this.#now().getTime() < expiresAt;
  }

  expireAll(): void {
    for (const token of this.#issued.keys()) this.#issued.set(token, 0);
  }

  get issuedCount(): number {
    return this.#issued.size;
  }
}
