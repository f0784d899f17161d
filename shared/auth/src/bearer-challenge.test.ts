import { describe, expect, it } from 'vitest';
import { bearerChallenge } from './index.ts';

const resourceMetadataUrl = 'https://mcp.example/.well-known/oauth-protected-resource';

describe('bearerChallenge', () => {
  it('names only the resource metadata when the request had no credentials', () => {
    expect(bearerChallenge({ resourceMetadataUrl })).toBe(`Bearer resource_metadata="${resourceMetadataUrl}"`);
  });

  it('carries invalid_token with an escaped description', () => {
    expect(
      bearerChallenge({
        resourceMetadataUrl,
        error: 'invalid_token',
        errorDescription: 'audience "x" is not this server\'s resource "api://mcp-broker" \\ ok',
      }),
    ).toBe(
      `Bearer error="invalid_token", error_description="audience \\"x\\" is not this server's resource \\"api://mcp-broker\\" \\\\ ok", resource_metadata="${resourceMetadataUrl}"`,
    );
  });

  it('names the required scopes for insufficient_scope', () => {
    expect(
      bearerChallenge({ resourceMetadataUrl, error: 'insufficient_scope', scope: ['Orders.Read', 'Cases.Write'] }),
    ).toBe(
      `Bearer error="insufficient_scope", scope="Orders.Read Cases.Write", resource_metadata="${resourceMetadataUrl}"`,
    );
  });

  it('replaces line breaks and non-ASCII so a description cannot split the header', () => {
    const value = bearerChallenge({
      resourceMetadataUrl,
      error: 'invalid_token',
      errorDescription: 'a\r\nSet-Cookie: x=é',
    });
    expect(value).toContain('error_description="a  Set-Cookie: x= "');
    expect(value).not.toMatch(/[\r\n]/);
  });
});
