import { describe, expect, it } from 'vitest';
import { protectedResourceMetadata } from './index.ts';

describe('protectedResourceMetadata', () => {
  it('builds the RFC 9728 document with header-only bearer tokens', () => {
    expect(
      protectedResourceMetadata({
        resource: 'api://mcp-broker',
        authorizationServers: ['https://login.microsoftonline.com/t/v2.0'],
        scopesSupported: ['Orders.Read'],
        resourceName: 'MCP broker',
      }),
    ).toEqual({
      resource: 'api://mcp-broker',
      authorization_servers: ['https://login.microsoftonline.com/t/v2.0'],
      scopes_supported: ['Orders.Read'],
      bearer_methods_supported: ['header'],
      resource_name: 'MCP broker',
    });
  });

  it('leaves out optional fields that were not given', () => {
    const document = protectedResourceMetadata({ resource: 'r', authorizationServers: [], scopesSupported: [] });
    expect(Object.keys(document).sort()).toEqual(
      ['authorization_servers', 'bearer_methods_supported', 'resource', 'scopes_supported'].sort(),
    );
  });
});
