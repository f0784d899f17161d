import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  exportSPKI,
  type GenerateKeyPairResult,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';

/**
 * Test support, kept out of the main entry (package.json maps it to `@mcp-broker/auth/testing`):
 * a real HTTP issuer on loopback that serves an OpenID discovery document and a JWKS, and signs
 * tokens with its keys, so verifier tests exercise real discovery, JWKS fetching and key rotation.
 */
export interface LocalTestIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** How many times each document was served, to observe caching and refetching. */
  readonly requests: { discovery: number; jwks: number };
  /** Kid of the key `sign` uses unless told otherwise. */
  readonly defaultKid: string;
  /** Generates and publishes a new signing key; returns its kid. */
  addKey(kid?: string): Promise<string>;
  /**
   * Signs claims with RS256; `iss`, `iat` and a five-minute `exp` are filled in unless given.
   * `header` adds protected header parameters jose would refuse to sign (an unknown `crit`).
   */
  sign(
    claims: JWTPayload,
    options?: { kid?: string; omitKid?: boolean; header?: Record<string, unknown> },
  ): Promise<string>;
  /** SPKI PEM of a published key, for algorithm-confusion tests. */
  publicKeyPem(kid?: string): Promise<string>;
  /** The public JWK exactly as the JWKS serves it. */
  publicJwk(kid?: string): JWK;
  /** Makes the next `count` discovery requests answer HTTP 503. */
  failDiscovery(count: number): void;
  close(): Promise<void>;
}

interface SigningKey extends GenerateKeyPairResult {
  publicJwk: JWK;
}

/** RS256 over exactly the header given, for headers jose's signer refuses. */
async function signRaw(
  header: Record<string, unknown>,
  payload: JWTPayload,
  privateKey: SigningKey['privateKey'],
): Promise<string> {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

export async function startLocalTestIssuer(): Promise<LocalTestIssuer> {
  const keys = new Map<string, SigningKey>();
  const requests = { discovery: 0, jwks: 0 };
  let discoveryFailures = 0;
  let origin = '';

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/.well-known/openid-configuration') {
      requests.discovery += 1;
      if (discoveryFailures > 0) {
        discoveryFailures -= 1;
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: origin, jwks_uri: `${origin}/jwks` }));
      return;
    }
    if (path === '/jwks') {
      requests.jwks += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [...keys.values()].map((key) => key.publicJwk) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function addKey(kid = `key-${keys.size + 1}`): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    keys.set(kid, { privateKey, publicKey, publicJwk });
    return kid;
  }

  function keyFor(kid: string): SigningKey {
    const key = keys.get(kid);
    if (key === undefined) throw new Error(`test issuer has no key "${kid}"`);
    return key;
  }

  const defaultKid = await addKey();

  return {
    issuer: origin,
    jwksUri: `${origin}/jwks`,
    requests,
    defaultKid,
    addKey,
    async sign(claims, options = {}) {
      const kid = options.kid ?? defaultKid;
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { iss: origin, iat: now, exp: now + 300, ...claims };
      // The key may not be published yet (unknown-kid tests), so sign with the default key under that kid.
      const { privateKey } = keys.get(kid) ?? keyFor(defaultKid);
      const header = options.omitKid ? { alg: 'RS256', typ: 'JWT' } : { alg: 'RS256', typ: 'JWT', kid };
      if (options.header !== undefined) return signRaw({ ...header, ...options.header }, payload, privateKey);
      return new SignJWT(payload).setProtectedHeader(header).sign(privateKey);
    },
    async publicKeyPem(kid = defaultKid) {
      return exportSPKI(keyFor(kid).publicKey);
    },
    publicJwk(kid = defaultKid) {
      return keyFor(kid).publicJwk;
    },
    failDiscovery(count) {
      discoveryFailures = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
