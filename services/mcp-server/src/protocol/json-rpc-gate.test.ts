import { describe, expect, it } from 'vitest';
import { gateJsonRpc } from './json-rpc-gate.ts';

describe('JSON-RPC gate', () => {
  it('accepts a request, a notification and a response', () => {
    expect(gateJsonRpc('{"jsonrpc":"2.0","id":1,"method":"ping"}').kind).toBe('request');
    expect(gateJsonRpc('{"jsonrpc":"2.0","method":"notifications/initialized"}').kind).toBe('notification');
    expect(gateJsonRpc('{"jsonrpc":"2.0","id":1,"result":{}}').kind).toBe('response');
  });

  it.each([
    ['not JSON', '{', 'BROKER_JSONRPC_PARSE_ERROR'],
    ['a batch', '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['a bare string', '"ping"', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['null', 'null', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['wrong version', '{"jsonrpc":"1.0","id":1,"method":"ping"}', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['no method', '{"jsonrpc":"2.0","id":1}', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['params as an array', '{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['a fractional id', '{"jsonrpc":"2.0","id":1.5,"method":"ping"}', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['an unknown member', '{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}', 'BROKER_JSONRPC_INVALID_REQUEST'],
  ])('refuses %s with %s', (_name, raw, code) => {
    expect(() => gateJsonRpc(raw)).toThrow(expect.objectContaining({ code }));
  });

  it('names the failing field', () => {
    expect(() => gateJsonRpc('{"jsonrpc":"2.0","id":{},"method":"ping"}')).toThrow(/id:/);
  });
});
