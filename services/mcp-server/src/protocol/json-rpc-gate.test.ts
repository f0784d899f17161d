import { describe, expect, it } from 'vitest';
import { gateJsonRpc, peekEnvelope, RefusedMessage } from './json-rpc-gate.ts';

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
    ['a __proto__ member', '{"jsonrpc":"2.0","id":1,"method":"ping","__proto__":{}}', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['an empty method', '{"jsonrpc":"2.0","id":1,"method":""}', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['a numeric method', '{"jsonrpc":"2.0","id":1,"method":7}', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['params null', '{"jsonrpc":"2.0","id":1,"method":"ping","params":null}', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['params a string', '{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['an id null on a request', '{"jsonrpc":"2.0","id":null,"method":"ping"}', 'BROKER_JSONRPC_INVALID_REQUEST'],
    ['a boolean id', '{"jsonrpc":"2.0","id":true,"method":"ping"}', 'BROKER_JSONRPC_INVALID_REQUEST'],
  ])('refuses %s with %s', (_name, raw, code) => {
    expect(() => gateJsonRpc(raw)).toThrow(expect.objectContaining({ code }));
  });

  it('hands on a well-formed message as sent (the envelope is checked without zod, to the same rules)', () => {
    const raw =
      '{"jsonrpc":"2.0","id":"req-1","method":"tools/call","params":{"name":"t","arguments":{"a":[1,{"b":null}]}}}';
    expect(gateJsonRpc(raw)).toEqual({ kind: 'request', message: JSON.parse(raw) });
    const big = '{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}';
    // Past the safe integers the hand check defers to the schema, which refuses and names the field.
    expect(() => gateJsonRpc(big)).toThrow(/id: Too big/);
    expect(gateJsonRpc('{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}')).toEqual({
      kind: 'notification',
      message: { jsonrpc: '2.0', method: 'notifications/initialized', params: {} },
    });
  });

  it('names the failing field', () => {
    expect(() => gateJsonRpc('{"jsonrpc":"2.0","id":{},"method":"ping"}')).toThrow(/id:/);
  });

  it('refuses a message nested deeper than the limit before parsing it, keeping its id and tool name', () => {
    const deep = `{"params":{"arguments":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}},"name":"store_memory"},"id":"r-1","jsonrpc":"2.0","method":"tools/call"}`;
    let refused: unknown;
    try {
      gateJsonRpc(deep, { maxDepth: 64 });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(RefusedMessage);
    expect(refused).toMatchObject({
      code: 'BROKER_PAYLOAD_TOO_DEEP',
      status: 400,
      rpcId: 'r-1',
      toolCall: { tool: 'store_memory', argumentsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      details: { limitDepth: 64 },
    });
    expect(
      gateJsonRpc(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":${'['.repeat(62)}${']'.repeat(62)}}}`, {
        maxDepth: 64,
      }).kind,
    ).toBe('request');
  });

  it('reads the envelope of JSON text without parsing it, ignoring look-alikes inside strings and deeper objects', () => {
    expect(
      peekEnvelope(
        '{"a":{"id":9,"method":"x"},"s":"\\"id\\":7","id":-12,"params":{"q":{"name":"no"},"name":"t\\u0031"},"method":"tools/call"}',
      ),
    ).toEqual({ id: -12, method: 'tools/call', name: 't1' });
    expect(peekEnvelope('{"id":1.5,"method":3}')).toEqual({});
  });

  it.each([
    [
      'progressToken [1]',
      '{"_meta":{"progressToken":[1]}}',
      'params._meta.progressToken: expected a string or an integer',
    ],
    ['progressToken null', '{"_meta":{"progressToken":null}}', 'params._meta.progressToken'],
    ['_meta a string', '{"_meta":"x"}', 'params._meta: expected object, received string'],
  ])('refuses params whose %s breaks the MCP schema with -32602 naming the field', (_n, params, text) => {
    expect(() => gateJsonRpc(`{"jsonrpc":"2.0","id":4,"method":"ping","params":${params}}`)).toThrow(
      expect.objectContaining({
        code: 'BROKER_JSONRPC_INVALID_PARAMS',
        rpcId: 4,
        message: expect.stringContaining(text),
      }),
    );
  });

  it('refuses malformed tools/call params with a readable message and what the audit needs', () => {
    expect(() =>
      gateJsonRpc('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t","arguments":"x"}}'),
    ).toThrow(
      expect.objectContaining({
        code: 'BROKER_JSONRPC_INVALID_PARAMS',
        message: 'Invalid params: params.arguments: expected record, received string.',
        toolCall: { tool: 't', argumentsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      }),
    );
  });
});
