import { describe, expect, it } from 'vitest';
import { SALESFORCE_CHANNEL_DEFAULTS, salesforceChannelSchema } from './salesforce-config.ts';

const CHANNEL = '/event/MCP_Tool_Request__e';
const issues = (input: unknown) => {
  const parsed = salesforceChannelSchema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('salesforce channel: checkpointEvery and flow control', () => {
  it('refuses a checkpoint interval of no events, a negative delay, an unknown key and a low-water mark not below the high one', () => {
    expect(issues({ channel: CHANNEL, checkpointEvery: { events: 0, ms: 1000 } })).toEqual([
      expect.stringMatching(/^checkpointEvery\.events: /),
    ]);
    expect(issues({ channel: CHANNEL, checkpointEvery: { events: 5, ms: -1 } })).toEqual([
      expect.stringMatching(/^checkpointEvery\.ms: /),
    ]);
    expect(issues({ channel: CHANNEL, checkpointEvery: { every: 5 } })).toEqual([expect.stringMatching(/every/)]);
    expect(issues({ channel: CHANNEL, concurrency: 0 })).toEqual([expect.stringMatching(/^concurrency: /)]);
    expect(issues({ channel: CHANNEL, concurrency: 2.5 })).toEqual([expect.stringMatching(/^concurrency: /)]);
    expect(issues({ channel: CHANNEL, highWaterMark: 0 })).toEqual([expect.stringMatching(/^highWaterMark: /)]);
    expect(issues({ channel: CHANNEL, highWaterMark: 100, lowWaterMark: 100 })).toEqual([
      'lowWaterMark: lowWaterMark (100) must be below highWaterMark (100)',
    ]);
    // The default high-water mark counts too.
    expect(issues({ channel: CHANNEL, lowWaterMark: 5000 })).toEqual([
      'lowWaterMark: lowWaterMark (5000) must be below highWaterMark (1000)',
    ]);
  });

  it('defaults: a checkpoint every 50 events or 1,000 ms, 100 events at once, a high-water mark of 1,000', () => {
    const channel = salesforceChannelSchema.parse({ channel: CHANNEL });
    expect(channel).toMatchObject({
      checkpointEvery: { events: 50, ms: 1000 },
      concurrency: 100,
      highWaterMark: 1000,
    });
    expect(channel.lowWaterMark).toBeUndefined();
    expect(SALESFORCE_CHANNEL_DEFAULTS).toEqual({
      checkpointEvery: { events: 50, ms: 1000 },
      concurrency: 100,
      highWaterMark: 1000,
    });
    // One half given: the other keeps its default.
    expect(salesforceChannelSchema.parse({ channel: CHANNEL, checkpointEvery: { events: 1 } }).checkpointEvery).toEqual(
      {
        events: 1,
        ms: 1000,
      },
    );
  });
});
