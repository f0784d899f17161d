import { createHmac } from 'node:crypto';
import { type CryptoKey, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import type { Connection } from 'jsforce';
import jsforce from 'jsforce';
import { StreamingExtension } from 'jsforce/lib/api/streaming.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveredEvent } from './event-bus.ts';
import type { Client, Message } from './faye-types.ts';
import { JWT_BEARER_GRANT } from './oauth-endpoint.ts';
import { invalidReplayIdError } from './platform-events.ts';
import { type SalesforceSandbox, type SalesforceSandboxOptions, startSalesforceSandbox } from './salesforce-sandbox.ts';

const REQUEST_CHANNEL = '/event/MCP_Tool_Request__e';

/** Polls until `condition` holds; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function login(sandbox: SalesforceSandbox, secret = sandbox.clientSecret): Promise<Connection> {
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: sandbox.loginUrl, clientId: sandbox.clientId, clientSecret: secret },
    version: sandbox.apiVersion,
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}

function idOf(result: { success: boolean; id?: string }): string {
  if (!result.success || !result.id) throw new Error(`save failed: ${JSON.stringify(result)}`);
  return result.id;
}

/** Raw REST call, to see statuses and bodies exactly as the wire carries them. */
async function rest(sandbox: SalesforceSandbox, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${sandbox.instanceUrl}/services/data/v${sandbox.apiVersion}/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** A jsforce CometD client with the durable replay extension, recording what it sees. */
class Subscriber {
  readonly events: DeliveredEvent['data'][] = [];
  readonly authFailures: Message[] = [];
  readonly errors: Message[] = [];
  readonly handshakeReplies: Message[] = [];
  readonly connectionTypes = new Set<string>();
  handshakes = 0;
  readonly client: Client;

  constructor(conn: Connection, channel: string, replayId: number) {
    const recorder = {
      incoming: (message: Message, callback: (message: Message) => void) => {
        if (message.channel === '/meta/handshake') this.handshakeReplies.push(message);
        if (message.channel === '/meta/handshake' && message.successful) this.handshakes += 1;
        if (message.error) this.errors.push(message);
        callback(message);
      },
      outgoing: (message: Message, callback: (message: Message) => void) => {
        if (message.channel === '/meta/connect' && message.connectionType)
          this.connectionTypes.add(message.connectionType);
        callback(message);
      },
    };
    // jsforce's bundled faye typings lack disconnect(); the client has it.
    this.client = conn.streaming.createClient([
      recorder,
      new StreamingExtension.AuthFailure((message: Message) => this.authFailures.push(message)),
      new StreamingExtension.Replay(channel, replayId),
    ]) as unknown as Client;
  }

  /** Subscribes and settles with the server's answer to `/meta/subscribe`. */
  subscribe(channel: string): Promise<void> {
    const subscription = this.client.subscribe<DeliveredEvent['data']>(channel, (data) => this.events.push(data));
    return new Promise((resolve, reject) => subscription.then(resolve, reject));
  }

  replayIds(): number[] {
    return this.events.map((e) => e.event.replayId);
  }

  async close(): Promise<void> {
    const done = this.client.disconnect();
    if (done) await new Promise<void>((resolve) => done.then(resolve, () => resolve()));
  }
}

describe('Salesforce sandbox: OAuth, REST and SObject Collections through jsforce', () => {
  let sandbox: SalesforceSandbox;
  let conn: Connection;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const keys = await generateKeyPair('RS256');
    privateKey = keys.privateKey;
    sandbox = await startSalesforceSandbox({ jwtPublicKey: await exportSPKI(keys.publicKey) });
    conn = await login(sandbox);
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  afterEach(() => sandbox.faults.clear());

  it('issues a session by client credentials, with the token response Salesforce sends', async () => {
    expect(conn.instanceUrl).toBe(sandbox.instanceUrl);
    expect(conn.userInfo?.organizationId).toBe(sandbox.orgId);
    expect(conn.accessToken?.startsWith(`${sandbox.orgId.slice(0, 15)}!`)).toBe(true);

    const res = await fetch(`${sandbox.loginUrl}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: sandbox.clientId,
        client_secret: sandbox.clientSecret,
      }),
    });
    const token = (await res.json()) as Record<string, string>;
    expect(res.status).toBe(200);
    expect(token).toMatchObject({ token_type: 'Bearer', instance_url: sandbox.instanceUrl });
    expect(token.id).toBe(`${sandbox.loginUrl}/id/${sandbox.orgId}/${sandbox.userId}`);
    const expected = createHmac('sha256', sandbox.clientSecret)
      .update(`${token.id}${token.issued_at}`)
      .digest('base64');
    expect(token.signature).toBe(expected);

    await expect(login(sandbox, 'wrong-secret')).rejects.toMatchObject({
      name: 'invalid_client',
      message: 'invalid client credentials',
    });
  });

  it('checks a JWT bearer assertion: signature, issuer, audience, subject and expiry', async () => {
    const assertion = (claims: { iss?: string; aud?: string; sub?: string; exp?: number }, key = privateKey) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(claims.iss ?? sandbox.clientId)
        .setAudience(claims.aud ?? sandbox.loginUrl)
        .setSubject(claims.sub ?? sandbox.username)
        .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 180)
        .sign(key);
    const authorize = async (jwt: string) => {
      const jwtConn = new jsforce.Connection({ oauth2: { loginUrl: sandbox.loginUrl }, version: sandbox.apiVersion });
      await jwtConn.authorize({ grant_type: JWT_BEARER_GRANT, assertion: jwt });
      return jwtConn;
    };

    const jwtConn = await authorize(await assertion({}));
    const created = await jwtConn.sobject('Account').create({ Name: 'Signed In Ltd' });
    expect(idOf(created)).toMatch(/^001/);

    const otherKey = (await generateKeyPair('RS256')).privateKey;
    await expect(authorize(await assertion({}, otherKey))).rejects.toMatchObject({
      name: 'invalid_grant',
      message: 'invalid assertion',
    });
    await expect(authorize(await assertion({ aud: 'https://login.salesforce.com' }))).rejects.toMatchObject({
      name: 'invalid_grant',
      message: 'audience is invalid',
    });
    await expect(authorize(await assertion({ sub: 'someone@else.example' }))).rejects.toMatchObject({
      name: 'invalid_grant',
      message: "user hasn't approved this consumer",
    });
    await expect(authorize(await assertion({ iss: 'not-the-app' }))).rejects.toMatchObject({
      name: 'invalid_client_id',
    });
    await expect(authorize(await assertion({ exp: Math.floor(Date.now() / 1000) - 60 }))).rejects.toMatchObject({
      name: 'invalid_grant',
      message: 'expired authorization code',
    });
  });

  it('creates, reads, updates and deletes a record with 18-character ids of the right key prefix', async () => {
    const opportunities = conn.sobject('Opportunity');
    const id = idOf(
      await opportunities.create({ Name: 'Big Deal', StageName: 'Prospecting', CloseDate: '2026-01-31' }),
    );
    expect(id).toMatch(/^006[a-zA-Z0-9]{15}$/);

    const record = await opportunities.retrieve(id);
    expect(record).toMatchObject({
      attributes: { type: 'Opportunity', url: `/services/data/v${sandbox.apiVersion}/sobjects/Opportunity/${id}` },
      Id: id,
      Name: 'Big Deal',
      Contract_URL__c: null,
      CreatedById: sandbox.userId,
    });

    await opportunities.update({ Id: id, StageName: 'Closed Won', Contract_URL__c: 'https://docs.example/c/1' });
    expect(await opportunities.retrieve(id, { fields: ['StageName', 'Contract_URL__c'] })).toEqual({
      attributes: expect.any(Object),
      StageName: 'Closed Won',
      Contract_URL__c: 'https://docs.example/c/1',
      Id: id,
    });
    expect(sandbox.records('Opportunity').find((r) => r.Id === id)?.StageName).toBe('Closed Won');

    await opportunities.destroy(id);
    await expect(opportunities.retrieve(id)).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
    await expect(opportunities.destroy(id)).rejects.toMatchObject({ errorCode: 'ENTITY_IS_DELETED' });
  });

  it('answers 300 with the records when several share a non-unique external id, writing none', async () => {
    const org = await startSalesforceSandbox({
      objects: { Account: { fields: { Name: { required: true }, Legacy__c: { externalId: true, unique: false } } } },
    });
    try {
      const ids = [
        org.insertRecord('Account', { Name: 'A', Legacy__c: 'x' }),
        org.insertRecord('Account', { Name: 'B', Legacy__c: 'x' }),
      ];
      const token = (await login(org)).accessToken ?? '';
      const urls = ids.map((id) => `/services/data/v${org.apiVersion}/sobjects/Account/${id}`);
      expect(await rest(org, token, 'PATCH', 'sobjects/Account/Legacy__c/x', { Name: 'C' })).toMatchObject({
        status: 300,
        body: urls,
      });
      expect(await rest(org, token, 'GET', 'sobjects/Account/Legacy__c/x')).toMatchObject({ status: 300, body: urls });
      expect(org.records('Account').map((r) => r.Name)).toEqual(['A', 'B']);
    } finally {
      await org.close();
    }
  });

  it('upserts by external id: 201 when created, 200 with created=false when updated (204 before API 46.0)', async () => {
    const results = conn.sobject('MCP_Result__c');
    const first = await results.upsert({ Request_Id__c: 'req-1', Status__c: 'running' }, 'Request_Id__c');
    expect(first).toMatchObject({ success: true, created: true, id: expect.stringMatching(/^a01/) });
    const second = await results.upsert({ Request_Id__c: 'req-1', Status__c: 'succeeded' }, 'Request_Id__c');
    expect(second).toEqual({ id: first.id, success: true, errors: [], created: false });
    expect(sandbox.records('MCP_Result__c').filter((r) => r.Request_Id__c === 'req-1')).toEqual([
      expect.objectContaining({ Status__c: 'succeeded' }),
    ]);

    const token = conn.accessToken ?? '';
    const created = await rest(sandbox, token, 'PATCH', 'sobjects/MCP_Result__c/Request_Id__c/req-2', {
      Status__c: 'x',
    });
    expect(created.status).toBe(201);
    const updated = await rest(sandbox, token, 'PATCH', 'sobjects/MCP_Result__c/Request_Id__c/req-2', {
      Status__c: 'y',
    });
    expect(updated.status).toBe(200);
    const old = await fetch(`${sandbox.instanceUrl}/services/data/v45.0/sobjects/MCP_Result__c/Request_Id__c/req-2`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ Status__c: 'z' }),
    });
    expect(old.status).toBe(204);

    const notExternal = await rest(sandbox, token, 'PATCH', 'sobjects/MCP_Result__c/Status__c/x', { Tool__c: 't' });
    expect(notExternal).toMatchObject({ status: 404, body: [{ errorCode: 'NOT_FOUND' }] });
  });

  it('saves SObject Collections item by item, or not at all with allOrNone', async () => {
    const accounts = conn.sobject('Account');
    const mixed = await accounts.create([{ Name: 'Acme' }, { Industry: 'Energy' }], { allOrNone: false });
    expect(mixed[0]).toMatchObject({ success: true, id: expect.stringMatching(/^001/) });
    expect(mixed[1]).toEqual({
      success: false,
      errors: [
        { statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Name]', fields: ['Name'] },
      ],
    });

    const before = sandbox.records('Account').length;
    const none = await accounts.create([{ Name: 'Globex' }, { Industry: 'Energy' }], { allOrNone: true });
    expect(none.map((r) => r.success)).toEqual([false, false]);
    expect(none[0]?.errors).toEqual([expect.objectContaining({ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' })]);
    expect(none[1]?.errors).toEqual([expect.objectContaining({ statusCode: 'REQUIRED_FIELD_MISSING' })]);
    expect(sandbox.records('Account')).toHaveLength(before);

    const ids = (await accounts.create([{ Name: 'One' }, { Name: 'Two' }])).map(idOf);
    const updated = await accounts.update(ids.map((Id, i) => ({ Id, Industry: `Industry ${i}` })));
    expect(updated).toEqual(ids.map((id) => ({ id, success: true, errors: [] })));
    const fetched = await accounts.retrieve(ids, { fields: ['Name', 'Industry'] });
    expect(fetched.map((r) => r.Industry)).toEqual(['Industry 0', 'Industry 1']);

    const results = conn.sobject('MCP_Result__c');
    await results.create({ Request_Id__c: 'batch-0', Status__c: 'a' });
    const upserted = await results.upsert(
      [
        { Request_Id__c: 'batch-0', Status__c: 'b' },
        { Request_Id__c: 'batch-1', Status__c: 'a' },
      ],
      'Request_Id__c',
    );
    expect(upserted.map((r) => [r.success, r.created])).toEqual([
      [true, false],
      [true, true],
    ]);
    // One key twice in one save: Salesforce refuses every record carrying it and saves neither.
    const twice = await results.upsert(
      [
        { Request_Id__c: 'batch-2', Status__c: 'a' },
        { Request_Id__c: 'batch-2', Status__c: 'b' },
      ],
      'Request_Id__c',
    );
    expect(twice.map((r) => [r.success, r.errors])).toEqual([
      [
        false,
        [
          {
            statusCode: 'DUPLICATE_VALUE',
            message: 'Duplicate external id specified: batch-2',
            fields: ['Request_Id__c'],
          },
        ],
      ],
      [
        false,
        [
          {
            statusCode: 'DUPLICATE_VALUE',
            message: 'Duplicate external id specified: batch-2',
            fields: ['Request_Id__c'],
          },
        ],
      ],
    ]);
    expect(sandbox.records('MCP_Result__c').some((r) => r.Request_Id__c === 'batch-2')).toBe(false);

    const deleted = await accounts.destroy(ids);
    expect(deleted).toEqual(ids.map((id) => ({ id, success: true, errors: [] })));
  });

  it('describes an object with its fields as Salesforce does, and answers NOT_FOUND for an unknown one', async () => {
    const token = conn.accessToken ?? '';
    const unknown = await rest(sandbox, token, 'GET', 'sobjects/Acount/describe');
    expect(unknown).toMatchObject({
      status: 404,
      body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }],
    });

    const described = await rest(sandbox, token, 'GET', 'sobjects/mcp_result__c/describe');
    expect(described.status).toBe(200);
    const body = described.body as { name: string; fields: Record<string, unknown>[] };
    expect(body.name).toBe('MCP_Result__c');
    const field = (name: string) => body.fields.find((f) => f.name === name);
    expect(field('Id')).toMatchObject({
      type: 'id',
      externalId: false,
      idLookup: true,
      createable: false,
      updateable: false,
      nillable: false,
    });
    expect(field('CreatedDate')).toMatchObject({ externalId: false, idLookup: false, updateable: false });
    expect(field('Request_Id__c')).toEqual(
      expect.objectContaining({
        type: 'string',
        length: 255,
        externalId: true,
        idLookup: true,
        createable: true,
        updateable: true,
        nillable: true,
      }),
    );
    expect(field('Status__c')).toMatchObject({ type: 'picklist', externalId: false, idLookup: false });
    // jsforce's own describe reads the same document.
    expect((await conn.sobject('MCP_Result__c').describe()).fields.map((f) => f.name)).toContain('Request_Id__c');
  });

  it("answers field errors in Salesforce's shape, and jsforce surfaces their errorCode", async () => {
    const opportunities = conn.sobject('Opportunity');
    await expect(opportunities.create({ Name: 'x', Bogus__c: 1 })).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
      message: "No such column 'Bogus__c' on sobject of type Opportunity",
    });
    await expect(opportunities.create({ Name: 'No stage' })).rejects.toMatchObject({
      errorCode: 'REQUIRED_FIELD_MISSING',
      data: { fields: ['StageName', 'CloseDate'] },
    });

    const token = conn.accessToken ?? '';
    const tooLong = await rest(sandbox, token, 'POST', 'sobjects/Opportunity', {
      Name: 'n'.repeat(121),
      StageName: 'Prospecting',
      CloseDate: '2026-01-31',
    });
    expect(tooLong).toMatchObject({ status: 400 });
    expect(tooLong.body).toEqual([
      {
        message: `Name: data value too large: ${'n'.repeat(121)} (max length=120)`,
        errorCode: 'STRING_TOO_LONG',
        fields: ['Name'],
      },
    ]);
    expect(tooLong.headers.get('content-type')).toBe('application/json;charset=UTF-8');
    expect(tooLong.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/15000$/);

    const unauthenticated = await rest(sandbox, 'not-a-token', 'GET', 'sobjects');
    expect(unauthenticated).toMatchObject({
      status: 401,
      body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
    });
  });

  it('injects the request limit, row locks and server errors', async () => {
    const accounts = conn.sobject('Account');
    sandbox.faults.requestLimitExceeded();
    await expect(accounts.create({ Name: 'Limited' })).rejects.toMatchObject({ errorCode: 'REQUEST_LIMIT_EXCEEDED' });

    const id = idOf(await accounts.create({ Name: 'Locked' }));
    const token = conn.accessToken ?? '';
    sandbox.faults.lockRows({ sobject: 'Account' });
    const locked = await rest(sandbox, token, 'PATCH', `sobjects/Account/${id}`, { Industry: 'Retail' });
    expect(locked).toMatchObject({ status: 400, body: [{ errorCode: 'UNABLE_TO_LOCK_ROW', fields: [] }] });
    sandbox.faults.lockRows({ sobject: 'Account' });
    await expect(accounts.update({ Id: id, Industry: 'Retail' })).rejects.toMatchObject({
      errorCode: 'UNABLE_TO_LOCK_ROW',
    });
    sandbox.faults.lockRows({ sobject: 'Account' });
    const batch = await accounts.update([{ Id: id, Industry: 'Retail' }]);
    expect(batch[0]).toMatchObject({ id, success: false, errors: [{ statusCode: 'UNABLE_TO_LOCK_ROW' }] });
    await accounts.update({ Id: id, Industry: 'Retail' });

    sandbox.faults.serverError();
    const broken = await rest(sandbox, token, 'GET', `sobjects/Account/${id}`);
    expect(broken).toMatchObject({ status: 500, body: [{ errorCode: 'UNKNOWN_EXCEPTION' }] });
    expect((await rest(sandbox, token, 'GET', `sobjects/Account/${id}`)).status).toBe(200);
  });

  it('expires sessions: jsforce sees INVALID_SESSION_ID, and a refresh function recovers', async () => {
    const expiring = await login(sandbox);
    const bare = new jsforce.Connection({
      instanceUrl: sandbox.instanceUrl,
      accessToken: expiring.accessToken ?? '',
      version: sandbox.apiVersion,
    });
    const oauth2 = new jsforce.OAuth2({
      loginUrl: sandbox.loginUrl,
      clientId: sandbox.clientId,
      clientSecret: sandbox.clientSecret,
    });
    let refreshed = 0;
    const refreshing = new jsforce.Connection({
      instanceUrl: sandbox.instanceUrl,
      accessToken: expiring.accessToken ?? '',
      version: sandbox.apiVersion,
      refreshFn: (_conn, callback) => {
        oauth2.requestToken({ grant_type: 'client_credentials' }).then(
          (token) => {
            refreshed += 1;
            callback(null, token.access_token, token);
          },
          (error: Error) => callback(error),
        );
      },
    });
    const id = idOf(await bare.sobject('Account').create({ Name: 'Before expiry' }));

    sandbox.faults.expireSessions();

    await expect(bare.sobject('Account').retrieve(id)).rejects.toMatchObject({ errorCode: 'INVALID_SESSION_ID' });
    // A client-credentials login has no refresh token, so jsforce's own refresh cannot help.
    await expect(expiring.sobject('Account').retrieve(id)).rejects.toThrow(/Unable to refresh session/);
    expect(await refreshing.sobject('Account').retrieve(id)).toMatchObject({ Id: id, Name: 'Before expiry' });
    expect(refreshed).toBe(1);
    conn = await login(sandbox);
  });
});

describe('Salesforce sandbox: platform events over CometD with durable replay', () => {
  let sandbox: SalesforceSandbox;
  let conn: Connection;
  const subscribers: Subscriber[] = [];

  async function start(options: SalesforceSandboxOptions = {}) {
    sandbox = await startSalesforceSandbox(options);
    conn = await login(sandbox);
  }
  function subscriber(replayId: number, connection = conn): Subscriber {
    const created = new Subscriber(connection, REQUEST_CHANNEL, replayId);
    subscribers.push(created);
    return created;
  }

  beforeEach(() => start());
  afterEach(async () => {
    await Promise.all(subscribers.splice(0).map((s) => s.close()));
    await sandbox?.close();
  });

  it('delivers a REST-published event to a -2 subscriber as Streaming API does, then live ones', async () => {
    const published = await conn.sobject('MCP_Tool_Request__e').create({
      Tool__c: 'generate_contract',
      Arguments__c: '{"opportunityId":"0065g0000000001AAA"}',
    });
    expect(published).toMatchObject({
      success: true,
      id: expect.stringMatching(/^e00/),
      errors: [{ statusCode: 'OPERATION_ENQUEUED', message: expect.any(String), fields: [] }],
    });
    sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: 'next_best_action' });

    const all = subscriber(-2);
    await all.subscribe(REQUEST_CHANNEL);
    expect(all.handshakeReplies[0]).toMatchObject({
      successful: true,
      ext: { replay: true, 'payload.format': true },
      supportedConnectionTypes: ['long-polling'],
    });
    await waitFor('two retained events', () => all.events.length === 2);
    const eventUuid = (published.errors[0] as unknown as { message: string }).message;
    expect(all.events[0]).toEqual({
      schema: expect.any(String),
      payload: {
        CreatedDate: expect.any(String),
        CreatedById: sandbox.userId,
        Tool__c: 'generate_contract',
        Arguments__c: '{"opportunityId":"0065g0000000001AAA"}',
        Record_Id__c: null,
        Request_Id__c: null,
        Write_Back__c: null,
      },
      event: { EventUuid: eventUuid, replayId: 1 },
    });

    const live = sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: 'query_data' });
    await waitFor('the live event', () => all.events.length === 3);
    expect(all.replayIds()).toEqual([1, 2, live.replayId]);
    expect(all.events[2]?.event.EventUuid).toBe(live.eventUuid);
    expect([...all.connectionTypes]).toEqual(['long-polling']);
  });

  it('replays from a stored replay id, and -1 delivers new events only', async () => {
    for (const tool of ['a', 'b', 'c']) sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: tool });

    const resumed = subscriber(1);
    const fresh = subscriber(-1);
    await resumed.subscribe(REQUEST_CHANNEL);
    await fresh.subscribe(REQUEST_CHANNEL);
    sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: 'd' });

    await waitFor('the live event at both', () => resumed.events.length >= 3 && fresh.events.length >= 1);
    expect(resumed.replayIds()).toEqual([2, 3, 4]);
    expect(fresh.replayIds()).toEqual([4]);

    // jsforce's own topic API (no replay extension) subscribes for new events.
    const viaTopic: DeliveredEvent['data'][] = [];
    const topic = conn.streaming.topic(REQUEST_CHANNEL);
    const subscription = topic.subscribe((message) => viaTopic.push(message as unknown as DeliveredEvent['data']));
    await new Promise((resolve, reject) => subscription.then(resolve, reject));
    sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: 'e' });
    await waitFor('the event through topic()', () => viaTopic.length === 1);
    expect(viaTopic[0]?.payload.Tool__c).toBe('e');
    const topicClient = conn.streaming._fayeClients.pushTopic;
    const done = (topicClient as unknown as Client | undefined)?.disconnect();
    if (done) await new Promise((resolve) => done.then(resolve, resolve));
  });

  it('refuses a replay id no longer retained with the documented error, which reaches the client', async () => {
    let clock = new Date('2026-03-01T00:00:00Z');
    await sandbox.close();
    await start({ now: () => clock, retention: { maxEvents: 3 } });
    for (const tool of ['a', 'b', 'c', 'd']) sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: tool });
    expect(sandbox.retainedEvents(REQUEST_CHANNEL).map((e) => e.data.event.replayId)).toEqual([2, 3, 4]);

    const stale = subscriber(1);
    await expect(stale.subscribe(REQUEST_CHANNEL)).rejects.toMatchObject({ message: invalidReplayIdError(1) });
    expect(stale.errors[0]).toMatchObject({
      channel: '/meta/subscribe',
      successful: false,
      error:
        '400::The replayId {1} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.',
    });

    sandbox.faults.refuseReplay({ channel: REQUEST_CHANNEL });
    await expect(subscriber(3).subscribe(REQUEST_CHANNEL)).rejects.toMatchObject({ message: invalidReplayIdError(3) });
    const retried = subscriber(3);
    await retried.subscribe(REQUEST_CHANNEL);
    await waitFor('the replayed event', () => retried.events.length === 1);
    expect(retried.replayIds()).toEqual([4]);

    clock = new Date(clock.getTime() + 73 * 60 * 60 * 1000);
    await expect(subscriber(4).subscribe(REQUEST_CHANNEL)).rejects.toMatchObject({ message: invalidReplayIdError(4) });
    await expect(subscriber(-1).subscribe('/event/No_Such_Event__e')).rejects.toMatchObject({
      message: '400::The channel you requested to subscribe to does not exist {/event/No_Such_Event__e}',
    });
  });

  it('tells streaming clients their session expired; a new login resumes from the checkpoint', async () => {
    const first = subscriber(-1);
    await first.subscribe(REQUEST_CHANNEL);
    sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: 'before' });
    await waitFor('the first event', () => first.events.length === 1);
    const checkpoint = first.replayIds()[0] ?? 0;

    sandbox.faults.expireSessions();
    await waitFor('the auth failure', () => first.authFailures.length === 1);
    expect(first.authFailures[0]).toMatchObject({
      channel: '/meta/connect',
      successful: false,
      error: '401::Authentication invalid',
      advice: { reconnect: 'none' },
    });
    sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: 'during the outage' });

    const staleToken = subscriber(checkpoint);
    void staleToken.subscribe(REQUEST_CHANNEL).catch(() => undefined);
    await waitFor('the handshake denial', () => staleToken.authFailures.length === 1);
    expect(staleToken.authFailures[0]).toMatchObject({
      channel: '/meta/handshake',
      successful: false,
      error: '403::Handshake denied',
      ext: { sfdc: { failureReason: '401::Authentication invalid' } },
      advice: { reconnect: 'none' },
    });

    const renewed = subscriber(checkpoint, await login(sandbox));
    await renewed.subscribe(REQUEST_CHANNEL);
    await waitFor('the event published during the outage', () => renewed.events.length === 1);
    expect(renewed.events[0]?.payload.Tool__c).toBe('during the outage');
    expect(first.events).toHaveLength(1);
  });

  it('after a dropped streaming connection the client re-handshakes and replays what it missed, once', async () => {
    const client = subscriber(-1);
    await client.subscribe(REQUEST_CHANNEL);
    sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: 'one' });
    await waitFor('the first event', () => client.events.length === 1);

    sandbox.faults.dropStreamingClients();
    sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: 'two' });

    await waitFor('the missed event', () => client.events.length === 2);
    expect(client.errors.map((m) => [m.channel, m.error])).toContainEqual(['/meta/connect', '403::Unknown client']);
    expect(client.handshakes).toBe(2);
    sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: 'three' });
    await waitFor('the next live event', () => client.events.length === 3);
    expect(client.events.map((e) => e.payload.Tool__c)).toEqual(['one', 'two', 'three']);
  });
});
