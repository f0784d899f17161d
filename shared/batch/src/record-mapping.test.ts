import { describe, expect, it } from 'vitest';
import { RecordMapping, RecordMappingError } from './record-mapping.ts';

const mapping = (args: string, recordId = '$exists(Id) ? Id : id') =>
  new RecordMapping({ recordId, arguments: args }, { schedule: 'nightly', run: 'br_1' });

describe('per-record mapping', () => {
  it('skips a record without an id, saying so', async () => {
    await expect(mapping('{ "a": 1 }').map({ Name: 'no id' })).rejects.toThrow(RecordMappingError);
    await expect(mapping('{ "a": 1 }').map({ Name: 'no id' })).rejects.toThrow(/recordId expression gave no string/);
  });

  it('skips a record whose arguments are not an object', async () => {
    await expect(mapping('Name').map({ Id: '001000000000001AAA', Name: 'Acme' })).rejects.toThrow(
      'arguments expression gave no object for record 001000000000001AAA',
    );
  });

  it("skips a record whose expression fails at run time, with JSONata's message", async () => {
    await expect(mapping('{ "n": $number(Name) }').map({ Id: 'x', Name: 'abc' })).rejects.toThrow(
      /arguments expression failed on record x/,
    );
  });

  it('refuses an id with control characters (it goes into the idempotency key)', async () => {
    await expect(mapping('{}').map({ Id: 'a\u0000b' })).rejects.toThrow(/control characters/);
  });

  it('stops an expression that runs too long', async () => {
    const endless = mapping('{ "x": ($f := function($n) { $f($n + 1) }; $f(0)) }');
    await expect(endless.map({ Id: 'x' })).rejects.toThrow(RecordMappingError);
  });

  it('maps a record to its id and plain-JSON arguments, with $schedule and $run bound', async () => {
    const out = await mapping('{ "account_id": Id, "names": [Name], "schedule": $schedule, "run": $run }').map({
      Id: '001000000000001AAA',
      Name: 'Acme',
    });
    expect(out).toEqual({
      recordId: '001000000000001AAA',
      arguments: { account_id: '001000000000001AAA', names: ['Acme'], schedule: 'nightly', run: 'br_1' },
    });
    expect((await mapping('{}').map({ id: 42 })).recordId).toBe('42');
  });
});
