/**
 * Shared Access Signature tokens as Service Bus checks them on `$cbs` put-token:
 * `SharedAccessSignature sr=<url-encoded resource>&sig=<url-encoded base64 HMAC-SHA256>&se=<unix seconds>&skn=<key name>`,
 * signed over `<url-encoded resource>\n<expiry>` with the named key.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';

export type SasRight = 'Listen' | 'Send' | 'Manage';

/** One shared access policy of the namespace. */
export interface SasPolicy {
  name: string;
  key: string;
  /** Default all three. */
  rights?: SasRight[];
}

export interface ParsedSasToken {
  /** The decoded resource URI (`sb://host/entity`). */
  resource: string;
  /** The resource as it was signed (URL-encoded). */
  signedResource: string;
  expiresAt: number;
  keyName: string;
  signature: string;
}

export type SasCheck =
  | { ok: true; policy: SasPolicy; resource: string; expiresAt: number }
  | { ok: false; status: 401; description: string };

export function parseSasToken(token: string): ParsedSasToken | undefined {
  const prefix = 'SharedAccessSignature ';
  if (!token.startsWith(prefix)) return undefined;
  const fields = new Map<string, string>();
  for (const part of token.slice(prefix.length).split('&')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at), part.slice(at + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (!sr || !sig || !se || !skn || !/^\d+$/.test(se)) return undefined;
  try {
    return {
      resource: decodeURIComponent(sr),
      signedResource: sr,
      expiresAt: Number(se),
      keyName: decodeURIComponent(skn),
      signature: decodeURIComponent(sig),
    };
  } catch {
    return undefined;
  }
}

/** Signs a token the way the SDK does (for tests that need a hand-made or expired token). */
export function signSasToken(resource: string, policy: Pick<SasPolicy, 'name' | 'key'>, expiresAt: number): string {
  const sr = encodeURIComponent(resource);
  const sig = createHmac('sha256', policy.key).update(`${sr}\n${expiresAt}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expiresAt}&skn=${encodeURIComponent(policy.name)}`;
}

/** Checks a token against the namespace's policies; the failure descriptions are the service's. */
export function checkSasToken(token: string, policies: readonly SasPolicy[], nowSeconds: number): SasCheck {
  const parsed = parseSasToken(token);
  if (!parsed) return { ok: false, status: 401, description: 'InvalidIssuer: Token issuer is invalid.' };
  const policy = policies.find((candidate) => candidate.name === parsed.keyName);
  if (!policy) {
    return { ok: false, status: 401, description: `Unauthorized: The key '${parsed.keyName}' is not found.` };
  }
  const expected = createHmac('sha256', policy.key).update(`${parsed.signedResource}\n${parsed.expiresAt}`).digest();
  const given = Buffer.from(parsed.signature, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, status: 401, description: 'InvalidSignature: The token has an invalid signature.' };
  }
  if (parsed.expiresAt <= nowSeconds) {
    return { ok: false, status: 401, description: 'ExpiredToken: The token is expired.' };
  }
  return { ok: true, policy, resource: parsed.resource, expiresAt: parsed.expiresAt };
}
