/** Small request/response helpers shared by the sandbox's HTTP endpoints. */

import type { IncomingMessage, ServerResponse } from 'node:http';

/** Salesforce answers JSON with this content type (jsforce parses on `application/json` only). */
export const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (body === undefined) {
    response.writeHead(status, headers);
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(text).toString(),
    ...headers,
  });
  response.end(text);
}
