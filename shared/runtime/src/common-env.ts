import { z } from 'zod';

/** Redis settings shared by every service, as one zod shape to spread into a config schema. */
export const redisEnvShape = {
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key, channel and BullMQ queue; services of one deployment share it. */
  REDIS_KEY_PREFIX: z.string().default('mcpb:'),
};

export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
