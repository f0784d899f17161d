import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TokenVerifier } from '@mcp-broker/auth';
import type { SandboxRequest, SandboxResponse } from './https-endpoint.ts';

/**
 * Who may publish or receive: the access keys of the resource, and Entra principals holding the
 * data-plane role (EventGrid Data Sender / Receiver), matched on `oid`/`azp`/`appid` (`subject` or
 * `clientAppId` of the verified identity). The token's audience must be https://eventgrid.azure.net.
 */
export interface SandboxAccess {
  keys: string[];
  entra?: { verifier: TokenVerifier; principals: string[] };
}

export const EVENT_GRID_AUDIENCE = 'https://eventgrid.azure.net';

/** The service's refusal: 401 without or with a wrong credential, 403 for a principal without the role. */
export type AuthOutcome = { ok: true } | { ok: false; response: SandboxResponse };

/** Checks the topic endpoint's credentials: `aeg-sas-key`, `aeg-sas-token` or `Authorization: Bearer`. */
export async function checkTopicAuth(
  request: SandboxRequest,
  access: SandboxAccess,
  resource: string,
): Promise<AuthOutcome> {
  const key = header(request, 'aeg-sas-key');
  if (key !== undefined) {
    return access.keys.some((k) => same(k, key))
      ? { ok: true }
      : unauthorized('The request authorization key is not valid.');
  }
  const sas = header(request, 'aeg-sas-token');
  if (sas !== undefined) return checkSasToken(sas, access.keys, resource);
  return checkBearer(request, access);
}

/** Checks a namespace's credentials: `Authorization: SharedAccessKey <key>` or `Authorization: Bearer`. */
export async function checkNamespaceAuth(request: SandboxRequest, access: SandboxAccess): Promise<AuthOutcome> {
  const authorization = header(request, 'authorization');
  const sharedKey = /^SharedAccessKey (.+)$/.exec(authorization ?? '');
  if (sharedKey) {
    const presented = sharedKey[1] ?? '';
    return access.keys.some((k) => same(k, presented))
      ? { ok: true }
      : unauthorized('The SharedAccessKey is not valid.');
  }
  return checkBearer(request, access);
}

async function checkBearer(request: SandboxRequest, access: SandboxAccess): Promise<AuthOutcome> {
  const authorization = header(request, 'authorization');
  if (!authorization?.startsWith('Bearer ')) return unauthorized('The request has no credential.');
  if (!access.entra)
    return unauthorized(
      'Entra authentication is disabled for this resource (disableLocalAuth false, no role assignments).',
    );
  let identity: Awaited<ReturnType<TokenVerifier['verify']>>;
  try {
    identity = await access.entra.verifier.verify(authorization);
  } catch (error) {
    return unauthorized(`The bearer token was refused: ${(error as Error).message}`);
  }
  const principals = [identity.subject, identity.clientAppId].filter((p): p is string => p !== undefined);
  if (!principals.some((p) => access.entra?.principals.includes(p))) {
    return {
      ok: false,
      response: {
        status: 403,
        body: {
          error: {
            code: 'Forbidden',
            message: `Principal ${identity.subject} has no data-plane role on this resource.`,
          },
        },
      },
    };
  }
  return { ok: true };
}

/** `r=<resource>&e=<expiry>&s=<signature>`, HMAC-SHA256 with the base64-decoded key over `r=…&e=…`. */
function checkSasToken(token: string, keys: string[], resource: string): AuthOutcome {
  const match = /^(r=[^&]*&e=[^&]*)&s=([^&]*)$/.exec(token);
  if (!match) return unauthorized('The aeg-sas-token is malformed.');
  const unsigned = match[1] ?? '';
  const signature = decodeURIComponent(match[2] ?? '');
  const params = new URLSearchParams(unsigned);
  const signedResource = params.get('r') ?? '';
  if (!signedResource.toLowerCase().startsWith(resource.toLowerCase())) {
    return unauthorized('The aeg-sas-token was signed for another resource.');
  }
  const expires = Date.parse(`${params.get('e') ?? ''} UTC`);
  if (!Number.isFinite(expires) || expires < Date.now()) return unauthorized('The aeg-sas-token has expired.');
  const valid = keys.some((key) =>
    same(createHmac('sha256', Buffer.from(key, 'base64')).update(unsigned).digest('base64'), signature),
  );
  return valid ? { ok: true } : unauthorized('The aeg-sas-token signature is not valid.');
}

function unauthorized(message: string): AuthOutcome {
  return { ok: false, response: { status: 401, body: { error: { code: 'Unauthorized', message } } } };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function header(request: SandboxRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
