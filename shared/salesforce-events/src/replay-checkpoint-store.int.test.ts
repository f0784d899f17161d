import { createStore, type Store } from '@mcp-broker/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointId, ReplayCheckpointStore } from './replay-checkpoint-store.ts';

const CHANNEL = '/event/MCP_Tool_Request__e';

describe('replay checkpoints in the Cosmos checkpoints container', () => {
  let store: Store;
  let checkpoints: ReplayCheckpointStore;
  let clock = new Date('2026-03-01T10:00:00.000Z');

  beforeAll(async () => {
    store = await createStore({ databaseId: `checkpoints-${Date.now()}` });
    checkpoints = new ReplayCheckpointStore({ container: store.container('checkpoints'), now: () => clock });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('has no checkpoint for a channel never saved, then holds the saved replay id with updatedAt', async () => {
    expect(await checkpoints.get('acme', CHANNEL)).toBeUndefined();
    await checkpoints.save('acme', CHANNEL, 5);
    expect(await checkpoints.get('acme', CHANNEL)).toBe(5);
    expect(await checkpoints.read('acme', CHANNEL)).toEqual({
      id: checkpointId('acme', CHANNEL),
      org: 'acme',
      channel: CHANNEL,
      replayId: 5,
      updatedAt: '2026-03-01T10:00:00.000Z',
    });
    // One item per (org, channel), in the org's partition.
    const { resource } = await store.container('checkpoints').item(checkpointId('acme', CHANNEL), 'acme').read();
    expect(resource).toMatchObject({ org: 'acme', replayId: 5 });
    expect(await checkpoints.get('globex', CHANNEL)).toBeUndefined();
    expect(await checkpoints.get('acme', '/event/Other__e')).toBeUndefined();
  });

  it('only moves forward', async () => {
    clock = new Date('2026-03-01T10:01:00.000Z');
    await checkpoints.save('acme', CHANNEL, 9);
    clock = new Date('2026-03-01T10:02:00.000Z');
    await checkpoints.save('acme', CHANNEL, 7);
    await checkpoints.save('acme', CHANNEL, 9);
    expect(await checkpoints.read('acme', CHANNEL)).toMatchObject({
      replayId: 9,
      updatedAt: '2026-03-01T10:01:00.000Z',
    });
  });

  it('keeps the maximum when replicas save concurrently', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    await Promise.all(ids.map((id) => checkpoints.save('race', CHANNEL, id)));
    expect(await checkpoints.get('race', CHANNEL)).toBe(12);
  });

  it('records alerts on the channel item without inventing a replay id', async () => {
    await checkpoints.recordAlert('initech', CHANNEL, { code: 'SALESFORCE_REPLAY_REFUSED', message: 'refused 3' });
    expect(await checkpoints.get('initech', CHANNEL)).toBeUndefined();
    await checkpoints.save('initech', CHANNEL, 4);
    await checkpoints.recordAlert('initech', CHANNEL, { code: 'SALESFORCE_REPLAY_REFUSED', message: 'refused 4' });
    const item = await checkpoints.read('initech', CHANNEL);
    expect(item?.replayId).toBe(4);
    expect(item?.alerts?.map((a) => a.message)).toEqual(['refused 3', 'refused 4']);
    for (let i = 0; i < 25; i += 1) await checkpoints.recordAlert('initech', CHANNEL, { code: 'X', message: `m${i}` });
    const trimmed = await checkpoints.read('initech', CHANNEL);
    expect(trimmed?.alerts).toHaveLength(20);
    expect(trimmed?.alerts?.at(-1)?.message).toBe('m24');
  });
});
