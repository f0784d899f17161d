import { readFileSync } from 'node:fs';
import { errorCatalog, errorCodes } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import { httpStatusForJsonRpcError, toJsonRpcCode } from './json-rpc-errors.ts';

const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');

describe('JSON-RPC error mapping', () => {
  it.each(errorCodes)('%s travels with the JSON-RPC code docs/errors.md names', (code) => {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row).toContain(`| ${errorCatalog[code].status} | ${toJsonRpcCode(code)} |`);
  });

  it('plain /message answers each local error with its catalog status', () => {
    for (const code of errorCodes) {
      const wire = toJsonRpcCode(code);
      // Codes sharing a wire code share a status; the catalog's own status must be one of the
      // statuses that wire code can produce, except where one wire code covers several statuses.
      const shared = errorCodes.filter((c) => toJsonRpcCode(c) === wire).map((c) => errorCatalog[c].status);
      expect(shared).toContain(httpStatusForJsonRpcError(wire));
    }
  });
});
