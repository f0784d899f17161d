import type { ToolCallRecord } from '@mcp-broker/contracts';
import { resultText, structuredContentOf } from './outcome-mapping.ts';

/** `Result__c`: the JSON of `structuredContent`, else the text content, else null. */
export function resultFieldValue(record: ToolCallRecord): string | null {
  const structured = structuredContentOf(record.result);
  if (structured !== undefined && structured !== null) return JSON.stringify(structured);
  return resultText(record.result) ?? null;
}

/** `Error__c`: `code: message` of a failed or cancelled call, else null. */
export function errorFieldValue(record: ToolCallRecord): string | null {
  return record.error ? `${record.error.code}: ${record.error.message}` : null;
}

/** Longest `Name` of a custom object record. */
const NAME_LENGTH = 80;

/** `Name` of an `MCP_Result__c`: the tool and a short call id, e.g. `generate_contract 3f9a1c2e`. */
export function resultRecordName(record: ToolCallRecord): string {
  const shortId = record.id.replace(/^tc_/, '').slice(0, 8);
  return `${record.tool.slice(0, NAME_LENGTH - shortId.length - 1)} ${shortId}`;
}

/** The field values an `MCP_Result__c` and an `MCP_Tool_Result__e` share. */
export function outcomeFields(record: ToolCallRecord, requestId: string) {
  return {
    Request_Id__c: requestId,
    Status__c: record.status,
    Tool__c: record.tool,
    Result__c: resultFieldValue(record),
    Error__c: errorFieldValue(record),
  };
}
