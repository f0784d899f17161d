import { describe, expect, it } from 'vitest';
import { toolCallRecord } from '../test-support/salesforce.ts';
import { evaluateFieldMapping, outcomeContext, resultText } from './outcome-mapping.ts';

const failed = toolCallRecord({
  status: 'failed',
  result: undefined,
  error: { code: 'TOOL_ERROR', message: 'Opportunity has no products.' },
});

describe('outcomeContext', () => {
  it('exposes status, tool, result, structuredContent, text, error and the call', () => {
    const record = toolCallRecord({
      result: {
        content: [
          { type: 'text', text: 'first' },
          { type: 'image', data: 'x', mimeType: 'image/png' },
          { type: 'text', text: 'second' },
        ],
        structuredContent: { url: 'https://docs.example.com/c.pdf' },
      },
    });
    expect(outcomeContext(record)).toEqual({
      status: 'succeeded',
      tool: 'generate_contract',
      result: record.result,
      structuredContent: { url: 'https://docs.example.com/c.pdf' },
      text: 'first\nsecond',
      error: undefined,
      call: {
        id: record.id,
        idempotencyKey: record.idempotencyKey,
        caller: record.caller,
        source: { kind: 'salesforce', reference: '42' },
        requestId: 'req-1',
        completedAt: record.completedAt,
      },
    });
  });

  it('has no text, result or structuredContent for a call that failed before answering', () => {
    expect(outcomeContext(failed)).toMatchObject({
      status: 'failed',
      text: undefined,
      structuredContent: undefined,
      error: { code: 'TOOL_ERROR', message: 'Opportunity has no products.' },
    });
    expect(resultText({ content: [] })).toBeUndefined();
  });
});

describe('evaluateFieldMapping', () => {
  const context = outcomeContext(toolCallRecord());

  it('evaluates each field’s JSONata over the outcome', async () => {
    expect(
      await evaluateFieldMapping(
        {
          Contract_URL__c: 'structuredContent.url',
          Pages__c: 'structuredContent.pages',
          Summary__c: "tool & ': ' & text",
          Done__c: "status = 'succeeded'",
        },
        context,
      ),
    ).toEqual({
      Contract_URL__c: 'https://docs.example.com/contracts/C-1001.pdf',
      Pages__c: 3,
      Summary__c: 'generate_contract: Contract generated.',
      Done__c: true,
    });
  });

  it('leaves out a field whose expression gives nothing, and clears one that gives null', async () => {
    const values = await evaluateFieldMapping(
      {
        Contract_URL__c: "status = 'succeeded' ? structuredContent.url",
        Last_Error__c: "error ? error.code & ': ' & error.message : null",
        Missing__c: 'structuredContent.nothing.here',
      },
      outcomeContext(failed),
    );
    expect(values).toEqual({ Last_Error__c: 'TOOL_ERROR: Opportunity has no products.' });
    expect(
      await evaluateFieldMapping({ Last_Error__c: "error ? error.code & ': ' & error.message : null" }, context),
    ).toEqual({ Last_Error__c: null });
  });

  it('writes objects and arrays as JSON text', async () => {
    expect(
      await evaluateFieldMapping({ Result__c: 'structuredContent', Keys__c: '$keys(structuredContent)' }, context),
    ).toEqual({
      Result__c: '{"url":"https://docs.example.com/contracts/C-1001.pdf","pages":3}',
      Keys__c: '["url","pages"]',
    });
  });

  it('refuses an expression that does not compile, naming the field and JSONata’s message', async () => {
    await expect(evaluateFieldMapping({ Contract_URL__c: 'structuredContent.(url' }, context)).rejects.toMatchObject({
      name: 'DeliveryError',
      kind: 'permanent',
      code: 'SALESFORCE_MAPPING_FAILED',
      message: expect.stringMatching(/^Mapping for field Contract_URL__c failed: the expression does not compile: .+/),
    });
  });

  it('refuses an expression that fails to evaluate, naming the field', async () => {
    await expect(evaluateFieldMapping({ Amount: "$number('not a number')" }, context)).rejects.toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_MAPPING_FAILED',
      message: expect.stringMatching(/^Mapping for field Amount failed: Unable to cast value to a number/),
    });
  });

  it('stops an endlessly recursive expression', async () => {
    await expect(
      evaluateFieldMapping({ Loop__c: '($f := function($n) { 1 + $f($n + 1) }; $f(0))' }, context),
    ).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('Loop__c') });
  });

  it('refuses a function value', async () => {
    await expect(evaluateFieldMapping({ F__c: 'function($x) { $x }' }, context)).rejects.toMatchObject({
      message: 'Mapping for field F__c failed: the expression gave a function, not a value',
    });
  });
});
