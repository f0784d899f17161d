/**
 * Access tokens the token endpoint issued. Salesforce access tokens are opaque session ids of the
 * form `<15-character org id>!<secret>`; REST and Streaming both look them up here, so expiring
 * the store invalidates a session everywhere at once.
 */

import { randomBytes } from 'node:crypto';

export interface Session {
  accessToken: string;
  userId: string;
  username: string;
  clientId: string;
  issuedAt: Date;
}

export class SessionStore {
  private readonly orgId15: string;
  private readonly sessions = new Map<string, Session>();

  constructor(orgId: string) {
    this.orgId15 = orgId.slice(0, 15);
  }

  issue(user: { userId: string; username: string }, clientId: string, issuedAt: Date): Session {
    const accessToken = `${this.orgId15}!${randomBytes(48).toString('base64url')}`;
    const session: Session = { accessToken, ...user, clientId, issuedAt };
    this.sessions.set(accessToken, session);
    return session;
  }

  /** The session for an `Authorization` header value (`Bearer <token>` or `OAuth <token>`). */
  fromAuthorization(header: string | undefined): Session | undefined {
    const match = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(header ?? '');
    return match?.[1] === undefined ? undefined : this.sessions.get(match[1]);
  }

  /** Ends every session: the next REST call or Bayeux message with any issued token is refused. */
  expireAll(): void {
    this.sessions.clear();
  }
}
