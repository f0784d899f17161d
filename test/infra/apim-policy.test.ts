import { readFileSync } from 'node:fs';
import { entraIssuer, identityFromClaims } from '@mcp-broker/auth';
import { type ErrorCode, errorCatalog, JsonRpcErrorCode } from '@mcp-broker/contracts';
import { serverToolPermissions } from '@mcp-broker/mcp-server';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';

const policyUrl = new URL('../../infra/apim/mcp-api-policy.xml', import.meta.url);
const readmeUrl = new URL('../../infra/apim/README.md', import.meta.url);
const xml = readFileSync(policyUrl, 'utf8');

/** One element of the policy, with attribute values and text already entity-decoded. */
interface PolicyElement {
  name: string;
  attrs: Record<string, string>;
  children: PolicyElement[];
  text: string;
  comments: string[];
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

function toElements(nodes: OrderedNode[]): { elements: PolicyElement[]; text: string; comments: string[] } {
  const elements: PolicyElement[] = [];
  const texts: string[] = [];
  const comments: string[] = [];
  for (const node of nodes) {
    if ('#text' in node) {
      texts.push(String(node['#text']));
      continue;
    }
    if ('#comment' in node) {
      comments.push((node['#comment'] as OrderedNode[]).map((c) => String(c['#text'] ?? '')).join(''));
      continue;
    }
    const name = Object.keys(node).find((key) => key !== ':@');
    if (name === undefined) continue;
    const inner = toElements(node[name] as OrderedNode[]);
    elements.push({
      name,
      attrs: node[':@'] ?? {},
      children: inner.elements,
      text: inner.text,
      comments: inner.comments,
    });
  }
  return { elements, text: texts.join(''), comments };
}

function parsePolicy(source: string): PolicyElement {
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    commentPropName: '#comment',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: true,
  });
  const roots = toElements(parser.parse(source) as OrderedNode[]).elements;
  expect(roots).toHaveLength(1);
  return roots[0]!;
}

/** Every element below `root`, in document order. */
function descendants(root: PolicyElement): PolicyElement[] {
  return root.children.flatMap((child) => [child, ...descendants(child)]);
}

function all(root: PolicyElement, name: string): PolicyElement[] {
  return descendants(root).filter((e) => e.name === name);
}

function one(root: PolicyElement, name: string): PolicyElement {
  const found = all(root, name);
  expect(found, `exactly one <${name}>`).toHaveLength(1);
  return found[0]!;
}

function section(root: PolicyElement, name: string): PolicyElement {
  const found = root.children.find((c) => c.name === name);
  if (!found) throw new Error(`<${name}> section missing`);
  return found;
}

/** Every policy expression in the file: attribute values and element texts that start with '@'. */
function expressions(root: PolicyElement): string[] {
  return descendants(root).flatMap((e) => [
    ...Object.values(e.attrs).filter((v) => v.startsWith('@')),
    ...(e.text.startsWith('@') ? [e.text] : []),
  ]);
}

// Real API Management policy elements (learn.microsoft.com/azure/api-management/api-management-policies)
// and their documented child elements. A name outside this list would be rejected by APIM.
const knownElements = new Set([
  'policies',
  'inbound',
  'backend',
  'outbound',
  'on-error',
  'base',
  'choose',
  'when',
  'otherwise',
  'validate-jwt',
  'openid-config',
  'audiences',
  'audience',
  'issuers',
  'issuer',
  'required-claims',
  'claim',
  'value',
  'rate-limit-by-key',
  'set-header',
  'set-variable',
  'forward-request',
  'return-response',
  'set-status',
  'set-body',
]);

const policy = parsePolicy(xml);
const sampleTenant = '11111111-2222-3333-4444-555555555555';
/** The server's own Entra issuer config, with the tenant turned back into APIM's named value. */
const serverEntra = entraIssuer(sampleTenant);
const withNamedTenant = (value: string | undefined) => value?.replace(sampleTenant, '{{tenant-id}}');

describe('APIM policy for the MCP API', () => {
  it('is well-formed XML', () => {
    expect(XMLValidator.validate(xml)).toBe(true);
  });

  it('has the four policy sections in order and uses only real policy elements', () => {
    expect(policy.name).toBe('policies');
    expect(policy.children.map((c) => c.name)).toEqual(['inbound', 'backend', 'outbound', 'on-error']);
    const unknown = descendants(policy)
      .map((e) => e.name)
      .filter((name) => !knownElements.has(name));
    expect(unknown).toEqual([]);
  });

  it('inherits the parent scopes except in backend, which forwards the request itself', () => {
    for (const name of ['inbound', 'outbound', 'on-error']) {
      expect(section(policy, name).children[0]?.name, `<base /> first in <${name}>`).toBe('base');
    }
    expect(all(section(policy, 'backend'), 'base')).toEqual([]);
  });

  describe('validate-jwt', () => {
    const jwt = one(policy, 'validate-jwt');

    it('reads a Bearer token from Authorization, fails with 401 and keeps the token as "jwt"', () => {
      expect(jwt.attrs).toMatchObject({
        'header-name': 'Authorization',
        'require-scheme': 'Bearer',
        'failed-validation-httpcode': '401',
        'output-token-variable-name': 'jwt',
        'require-expiration-time': 'true',
        'require-signed-tokens': 'true',
      });
      // The server tolerates at most 60 s of clock skew.
      expect(Number(jwt.attrs['clock-skew'])).toBeLessThanOrEqual(60);
    });

    it('lists its child elements in the documented order', () => {
      expect(jwt.children.map((c) => c.name)).toEqual(['openid-config', 'audiences', 'issuers', 'required-claims']);
    });

    it("trusts the tenant's v2 OpenID configuration and exactly the issuer the server trusts", () => {
      const openId = one(jwt, 'openid-config');
      expect(openId.attrs.url).toBe(
        'https://login.microsoftonline.com/{{tenant-id}}/v2.0/.well-known/openid-configuration',
      );
      expect(openId.attrs.url).toBe(withNamedTenant(serverEntra.discoveryUrl));
      const issuers = all(one(jwt, 'issuers'), 'issuer').map((e) => e.text);
      expect(issuers).toEqual([withNamedTenant(serverEntra.issuer)]);
    });

    it('requires the audience from the mcp-resource named value (the server’s MCP_RESOURCE)', () => {
      expect(all(one(jwt, 'audiences'), 'audience').map((e) => e.text)).toEqual(['{{mcp-resource}}']);
    });

    it('requires at least one product app role in the roles claim', () => {
      const claims = all(one(jwt, 'required-claims'), 'claim');
      expect(claims).toHaveLength(1);
      const roles = claims[0]!;
      expect(roles.attrs).toMatchObject({ name: 'roles', match: 'any' });
      const values = roles.children.map((c) => c.text);
      // Exactly the roles the server's tools require: a tool with a new role must be added here too.
      expect([...values].sort()).toEqual(serverToolPermissions);
      for (const value of values) expect(value).toMatch(/^[A-Z][A-Za-z]*\.[A-Z][A-Za-z]*$/);
    });
  });

  describe('rate-limit-by-key', () => {
    const limit = one(policy, 'rate-limit-by-key');
    const counterKey = limit.attrs['counter-key'] ?? '';

    it('comes after validate-jwt, whose token variable it reads', () => {
      const order = descendants(policy).map((e) => e.name);
      expect(order.indexOf('rate-limit-by-key')).toBeGreaterThan(order.indexOf('validate-jwt'));
    });

    it("is keyed on the validated token's oid, else its subject", () => {
      expect(counterKey).toMatch(/^@\(/);
      expect(counterKey).toContain('(Jwt)context.Variables["jwt"]');
      expect(counterKey).toContain('Claims.GetValueOrDefault("oid"');
      expect(counterKey).toContain('.Subject');
      // The server keys its own limit the same way: oid first, then sub.
      expect(identityFromClaims({ oid: 'object-id', sub: 'pairwise-sub' }, 'iss').subject).toBe('object-id');
      expect(identityFromClaims({ sub: 'pairwise-sub' }, 'iss').subject).toBe('pairwise-sub');
    });

    it('never uses the Authorization header (or any raw header) as the key', () => {
      expect(counterKey).not.toMatch(/authorization/i);
      expect(counterKey).not.toMatch(/Headers/);
      expect(counterKey).not.toMatch(/subscription/i);
    });

    it('takes calls and period from named values and names its response headers', () => {
      expect(limit.attrs).toMatchObject({
        calls: '{{rate-limit-calls}}',
        'renewal-period': '{{rate-limit-period}}',
        'retry-after-header-name': 'Retry-After',
      });
      expect(limit.attrs['remaining-calls-header-name']).toBeTruthy();
      expect(limit.attrs['retry-after-variable-name']).toBeTruthy();
    });
  });

  describe('inbound headers', () => {
    const inbound = section(policy, 'inbound');
    const headers = all(inbound, 'set-header');
    const named = (name: string) => headers.filter((h) => h.attrs.name?.toLowerCase() === name.toLowerCase());

    it('sets X-Request-ID from context.RequestId when the caller sent none (or a malformed one)', () => {
      const variable = all(inbound, 'set-variable').find((v) => v.attrs.name === 'requestId');
      expect(variable?.attrs.value).toContain('GetValueOrDefault("X-Request-ID"');
      expect(variable?.attrs.value).toContain('context.RequestId');
      const requestId = named('X-Request-ID');
      expect(requestId).toHaveLength(1);
      expect(requestId[0]!.attrs['exists-action']).toBe('override');
      expect(requestId[0]!.children[0]?.text).toContain('context.Variables["requestId"]');
      const order = descendants(inbound);
      expect(order.indexOf(requestId[0]!)).toBeLessThan(order.indexOf(one(inbound, 'validate-jwt')));
    });

    it('forwards traceparent, starting a trace only when the caller sent none', () => {
      const traceparent = named('traceparent');
      expect(traceparent).toHaveLength(1);
      expect(traceparent[0]!.attrs['exists-action']).toBe('skip');
    });

    it('removes the subscription key before the backend', () => {
      const key = named('Ocp-Apim-Subscription-Key');
      expect(key).toHaveLength(1);
      expect(key[0]!.attrs['exists-action']).toBe('delete');
    });

    it('leaves protected resource metadata reachable without a token', () => {
      const guard = all(inbound, 'when').find((w) => all(w, 'validate-jwt').length > 0);
      expect(guard?.attrs.condition).toContain('/.well-known/oauth-protected-resource');
      expect(guard?.attrs.condition).toMatch(/^@\(!/);
    });

    it('leaves only GET of a signed document link (the server checks its signature) reachable without a token', () => {
      const guard = all(inbound, 'when').find((w) => all(w, 'validate-jwt').length > 0);
      const pattern = guard?.attrs.condition?.match(
        /Regex\.IsMatch\(context\.Request\.OriginalUrl\.Path, @"([^"]+)"\)/,
      )?.[1];
      expect(guard?.attrs.condition).toContain('context.Request.Method == "GET"');
      expect(pattern).toBeDefined();
      const exempt = new RegExp(pattern!);
      // The ids generate_contract makes: ctr- and a SHA-256.
      expect(exempt.test(`/mcp-broker/documents/ctr-${'ab'.repeat(32)}`)).toBe(true);
      for (const path of [
        '/mcp-broker/mcp',
        '/mcp-broker/documents/ctr-x',
        `/mcp-broker/documents/ctr-${'ab'.repeat(32)}/more`,
      ]) {
        expect(exempt.test(path), path).toBe(false);
      }
    });
  });

  describe('backend', () => {
    const backend = section(policy, 'backend');
    const forwards = all(backend, 'forward-request');

    it('forwards every request, streaming SSE unbuffered on /sse and /mcp', () => {
      expect(forwards.length).toBeGreaterThan(0);
      expect(all(policy, 'forward-request')).toHaveLength(forwards.length);
      const streaming = all(backend, 'when').filter((w) =>
        w.children.some((c) => c.name === 'forward-request' && c.attrs['buffer-response'] === 'false'),
      );
      expect(streaming).toHaveLength(1);
      expect(streaming[0]!.attrs.condition).toContain('"/sse"');
      expect(streaming[0]!.attrs.condition).toContain('"/mcp"');
      expect(backend.comments.join(' ')).toMatch(/buffer-response="false"/);
    });

    it("passes the server's own error responses through untouched", () => {
      for (const forward of forwards) expect(forward.attrs['fail-on-error-status-code'] ?? 'false').toBe('false');
    });

    it('keeps timeouts within what APIM honours (240 s)', () => {
      for (const forward of forwards) expect(Number(forward.attrs.timeout ?? 300)).toBeLessThanOrEqual(240);
    });
  });

  describe('on-error', () => {
    const onError = section(policy, 'on-error');
    const responses = all(onError, 'return-response');
    const variable = (name: string) =>
      all(onError, 'set-variable').find((v) => v.attrs.name === name)?.attrs.value ?? '';

    it('returns a JSON body on every path', () => {
      expect(responses.length).toBeGreaterThan(0);
      for (const response of responses) {
        expect(response.children.map((c) => c.name)[0]).toBe('set-status');
        const contentType = response.children.find((c) => c.name === 'set-header' && c.attrs.name === 'Content-Type');
        expect(contentType?.children[0]?.text).toBe('application/json');
        expect(response.children.at(-1)?.name).toBe('set-body');
        const requestId = response.children.find((c) => c.name === 'set-header' && c.attrs.name === 'X-Request-ID');
        expect(requestId, 'X-Request-ID on every error response').toBeDefined();
      }
    });

    it('builds the body from the error and the request id, in the server’s JSON-RPC envelope', () => {
      const body = variable('errorBody');
      for (const field of ['"jsonrpc"', '"error"', '"code"', '"message"', '"data"', '"requestId"', '"reason"']) {
        expect(body).toContain(`[${field}]`);
      }
      expect(body).toContain('context.LastError.Reason');
      expect(variable('errorRequestId')).toContain('context.RequestId');
    });

    it('maps each HTTP status to a BROKER_* code with that status in the error catalog', () => {
      const mapping = variable('errorCode');
      const cases = [...mapping.matchAll(/case (\d{3}):([^;]*);/g)];
      expect(cases.length).toBeGreaterThanOrEqual(5);
      for (const [, status, branch] of cases) {
        const codes = [...(branch ?? '').matchAll(/"(BROKER_[A-Z_]+)"/g)].map((m) => m[1] as ErrorCode);
        expect(codes.length).toBeGreaterThan(0);
        for (const code of codes) expect(errorCatalog[code]?.status, code).toBe(Number(status));
      }
      const fallback = /default: return "(BROKER_[A-Z_]+)"/.exec(mapping)?.[1] as ErrorCode | undefined;
      expect(fallback).toBe('BROKER_INTERNAL');
    });

    it('uses the JSON-RPC error codes the server uses for the same statuses', () => {
      const body = variable('errorBody');
      const expected: Record<string, number> = {
        401: JsonRpcErrorCode.Unauthorized,
        403: JsonRpcErrorCode.Forbidden,
        404: JsonRpcErrorCode.MethodNotFound,
        429: JsonRpcErrorCode.RateLimited,
        503: JsonRpcErrorCode.Unavailable,
        504: JsonRpcErrorCode.Timeout,
      };
      for (const [status, code] of Object.entries(expected)) {
        expect(body).toContain(`case ${status}: rpcCode = ${code};`);
      }
      expect(body).toContain(`default: rpcCode = ${JsonRpcErrorCode.InternalError};`);
    });

    it('repeats Retry-After on 429 and a resource-metadata challenge on 401 and 403', () => {
      const byStatus = (status: string) =>
        responses.find((r) => r.children.find((c) => c.name === 'set-status')?.attrs.code === status);
      const headerValue = (response: PolicyElement | undefined, name: string) =>
        response?.children.find((c) => c.name === 'set-header' && c.attrs.name === name)?.children[0]?.text ?? '';
      expect(headerValue(byStatus('429'), 'Retry-After')).toContain('errorRetryAfter');
      expect(variable('errorRetryAfter')).toContain('gatewayRetryAfter');
      expect(headerValue(byStatus('401'), 'WWW-Authenticate')).toContain('resource_metadata=');
      expect(headerValue(byStatus('403'), 'WWW-Authenticate')).toContain('insufficient_scope');
      expect(variable('errorResourceMetadata')).toContain('/.well-known/oauth-protected-resource');
    });
  });

  it('never puts the bearer token into a variable, header or body built by an expression', () => {
    for (const expression of expressions(policy)) {
      expect(expression).not.toMatch(/Headers[^;]*"Authorization"/i);
    }
  });

  it('documents every named value it uses', () => {
    const readme = readFileSync(readmeUrl, 'utf8');
    const namedValues = [...new Set([...xml.matchAll(/\{\{([a-z0-9-]+)\}\}/g)].map((m) => m[1]))];
    expect(namedValues.sort()).toEqual(['mcp-resource', 'rate-limit-calls', 'rate-limit-period', 'tenant-id']);
    for (const name of namedValues) expect(readme).toContain(`\`${name}\``);
  });
});
