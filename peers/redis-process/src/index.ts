export { freePort } from './free-port.ts';
export { killAllRedis, RedisProcess, type RedisProcessOptions } from './redis-process.ts';
