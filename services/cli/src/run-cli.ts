import { parseArgs } from 'node:util';
import { BrokerConfigError, loadBrokerConfigFile } from '@mcp-broker/broker-config';
import { toolCallStatusSchema } from '@mcp-broker/contracts';
import type { Redis } from 'ioredis';
import { BrokerApi, BrokerApiError } from './broker-api.ts';
import { callsList, callsShow } from './commands/calls.ts';
import { configValidate } from './commands/config-validate.ts';
import { deadLettersList, replayAll, replayOne } from './commands/dead-letters.ts';
import { batchRun, scheduleRun, schedulesList } from './commands/schedules.ts';
import { Printer } from './printer.ts';
import { UsageError } from './usage-error.ts';

/** What the CLI reads from its environment (main.ts passes process.env). */
export interface CliEnv {
  /** The ingress base URL; default http://127.0.0.1:3002. */
  MCP_BROKER_URL?: string | undefined;
  MCP_BROKER_USER?: string | undefined;
  MCP_BROKER_PASSWORD?: string | undefined;
  MCP_BROKER_TOKEN?: string | undefined;
  /** The broker configuration file (for status), as the services read it. */
  BROKER_CONFIG?: string | undefined;
  REDIS_URL?: string | undefined;
}

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  fetch?: typeof fetch;
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export const USAGE = `Usage: mcp-broker <command> [options]

Commands:
  config validate FILE                 check a broker configuration file; every problem with its path
  status                               queue depths per caller, dead letters, Salesforce subscribers
                                       (--config FILE, --redis-url URL, --prefix P, --worker-url URL)
  calls list [--status S] [--tool T] [--limit N]   the caller's own calls, newest first
  calls show ID                        one call: status, result, error, write-backs
  dead-letters list [--caller X] [--limit N]       dead-lettered calls (admin caller)
  replay ID                            queue one dead-lettered call again (admin caller)
  replay --all --caller X [--max N]    queue every dead letter of caller X again (admin caller)
  schedules list                       the caller's batch schedules
  schedules run ID [--idempotency-key K]           start a run of a schedule now
  batch-runs show ID | batch-runs cancel ID        a batch run's progress, or cancel it

Options:
  --json          one JSON document on stdout, for scripts
  --url URL       the ingress (default $MCP_BROKER_URL or http://127.0.0.1:3002)
  --user NAME     a Basic caller (default $MCP_BROKER_USER; the password only from $MCP_BROKER_PASSWORD)
                  or $MCP_BROKER_TOKEN for a JWT caller
  -h, --help      this text

Exit codes: 0 done, 1 failed (refused, invalid, unreachable), 2 usage error.
`;

const options = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  url: { type: 'string' },
  user: { type: 'string' },
  config: { type: 'string' },
  'redis-url': { type: 'string' },
  prefix: { type: 'string' },
  'worker-url': { type: 'string' },
  status: { type: 'string' },
  tool: { type: 'string' },
  limit: { type: 'string' },
  caller: { type: 'string' },
  all: { type: 'boolean' },
  max: { type: 'string' },
  'idempotency-key': { type: 'string' },
} as const;

type Flag = keyof typeof options;
const common: Flag[] = ['json', 'help', 'url', 'user'];

/** Runs one command line; resolves to the exit code. */
export async function runCli(argv: readonly string[], env: CliEnv, io: CliIo): Promise<number> {
  let json = argv.includes('--json');
  try {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
    try {
      parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    json = values.json === true;
    if (values.help || positionals.length === 0) {
      (values.help ? io.stdout : io.stderr)(USAGE);
      return values.help ? EXIT.ok : EXIT.usage;
    }
    const printer = new Printer(json, io.stdout);
    const [command, sub, ...rest] = positionals;
    const allow = (flags: Flag[], positionalCount: number) => {
      const extra = Object.keys(values).filter((k) => !common.includes(k as Flag) && !flags.includes(k as Flag));
      if (extra.length > 0)
        throw new UsageError(`${command}${sub && positionalCount > 1 ? ` ${sub}` : ''} takes no --${extra[0]}.`);
      if (positionals.length > positionalCount)
        throw new UsageError(`Unexpected argument "${positionals[positionalCount]}".`);
    };
    const api = () =>
      new BrokerApi({
        url: values.url ?? env.MCP_BROKER_URL ?? 'http://127.0.0.1:3002',
        user: values.user ?? env.MCP_BROKER_USER,
        password: env.MCP_BROKER_PASSWORD,
        token: env.MCP_BROKER_TOKEN,
        ...(io.fetch ? { fetch: io.fetch } : {}),
      });
    const required = (value: string | undefined, what: string) => {
      if (!value) throw new UsageError(`Missing ${what}.`);
      return value;
    };

    switch (command) {
      case 'config':
        if (sub !== 'validate') throw new UsageError('Did you mean: mcp-broker config validate FILE?');
        allow([], 3);
        return await configValidate(required(rest[0], 'FILE (mcp-broker config validate FILE)'), printer);
      case 'status': {
        allow(['config', 'redis-url', 'prefix', 'worker-url'], 1);
        const file = required(values.config ?? env.BROKER_CONFIG, '--config FILE (or BROKER_CONFIG)');
        const config = await loadBrokerConfigFile(file);
        // Loaded only here: BullMQ and the Salesforce connector's lease keys cost every other command start-up time.
        const { printStatus, readStatus } = await import('./commands/status.ts');
        const redis = await connectRedis(values['redis-url'] ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379');
        try {
          const hasCredentials = !!(
            env.MCP_BROKER_TOKEN ||
            ((values.user ?? env.MCP_BROKER_USER) && env.MCP_BROKER_PASSWORD)
          );
          printStatus(
            await readStatus({
              config,
              redis,
              keyPrefix: values.prefix,
              api: hasCredentials ? api() : undefined,
              workerUrl: values['worker-url'],
              ...(io.fetch ? { fetch: io.fetch } : {}),
            }),
            printer,
          );
          return EXIT.ok;
        } finally {
          redis.disconnect();
        }
      }
      case 'calls':
        if (sub === 'list') {
          allow(['status', 'tool', 'limit'], 2);
          if (values.status && !toolCallStatusSchema.safeParse(values.status).success)
            throw new UsageError(`--status must be one of ${toolCallStatusSchema.options.join(', ')}.`);
          const limit = count(values.limit, '--limit', 20, 100);
          return await callsList(api(), printer, { status: values.status, tool: values.tool, limit });
        }
        if (sub === 'show') {
          allow([], 3);
          return await callsShow(api(), printer, required(rest[0], 'ID (mcp-broker calls show ID)'));
        }
        throw new UsageError('Did you mean: mcp-broker calls list | calls show ID?');
      case 'dead-letters': {
        if (sub !== 'list') throw new UsageError('Did you mean: mcp-broker dead-letters list?');
        allow(['caller', 'limit'], 2);
        const limit = count(values.limit, '--limit', 50, 10_000);
        return await deadLettersList(api(), printer, { caller: values.caller, limit });
      }
      case 'replay':
        if (values.all) {
          allow(['all', 'caller', 'max'], 1);
          const caller = required(values.caller, '--caller X (replay --all replays one caller at a time)');
          const max = count(values.max, '--max', 1000, 100_000);
          return await replayAll(api(), printer, caller, max);
        }
        if (values.caller) throw new UsageError('--caller goes with --all: mcp-broker replay --all --caller X.');
        allow([], 2);
        return await replayOne(api(), printer, required(sub, 'ID or --all --caller X'));
      case 'schedules':
        if (sub === 'list') {
          allow([], 2);
          return await schedulesList(api(), printer);
        }
        if (sub === 'run') {
          allow(['idempotency-key'], 3);
          return await scheduleRun(
            api(),
            printer,
            required(rest[0], 'ID (mcp-broker schedules run ID)'),
            values['idempotency-key'],
          );
        }
        throw new UsageError('Did you mean: mcp-broker schedules list | schedules run ID?');
      case 'batch-runs':
        if (sub !== 'show' && sub !== 'cancel')
          throw new UsageError('Did you mean: mcp-broker batch-runs show ID | cancel ID?');
        allow([], 3);
        return await batchRun(
          api(),
          printer,
          required(rest[0], `ID (mcp-broker batch-runs ${sub} ID)`),
          sub === 'cancel',
        );
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (err) {
    return report(err, json, io);
  }
}

function count(value: string | undefined, flag: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`${flag} must be a whole number from 1 to ${max}.`);
  return n;
}

async function connectRedis(url: string): Promise<Redis> {
  // One try, no offline queue: an operator wants "unreachable" now, not a command that hangs.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new CliFailure(
      'CLI_REDIS_UNREACHABLE',
      `Cannot reach Redis at ${redactUrl(url)} (${(err as Error).message}).`,
    );
  }
  return redis;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

class CliFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function report(err: unknown, json: boolean, io: CliIo): number {
  if (err instanceof UsageError) {
    io.stderr(`mcp-broker: ${err.message}\nRun mcp-broker --help for the commands.\n`);
    if (json) io.stdout(`${JSON.stringify({ error: { code: 'CLI_USAGE', message: err.message } })}\n`);
    return EXIT.usage;
  }
  const error =
    err instanceof BrokerApiError
      ? {
          code: err.code,
          status: err.status,
          message: err.message,
          ...(err.requestId ? { requestId: err.requestId } : {}),
        }
      : err instanceof CliFailure
        ? { code: err.code, message: err.message }
        : err instanceof BrokerConfigError
          ? { code: 'CLI_CONFIG_INVALID', message: err.message }
          : { code: 'CLI_FAILED', message: (err as Error).message };
  const where =
    'status' in error && error.status
      ? ` (HTTP ${error.status}${'requestId' in error ? `, request ${error.requestId}` : ''})`
      : '';
  io.stderr(`mcp-broker: ${error.code}${where}: ${error.message}\n`);
  if (json) io.stdout(`${JSON.stringify({ error })}\n`);
  return EXIT.failure;
}
