export { logLevelSchema, redisEnvShape } from './common-env.ts';
export { isDependencyUnavailable } from './dependency-unavailable.ts';
export { installGracefulShutdown, type ShutdownOptions } from './graceful-shutdown.ts';
export {
  buildHttpServer,
  DEFAULT_BODY_LIMIT,
  errorBody,
  type HttpServerOptions,
  type ReadinessCheck,
  toBrokerError,
} from './http-server.ts';
export { ConfigError, loadConfig } from './load-config.ts';
export { createLogger, type Logger, type LoggerConfig, scrubSecrets } from './logger.ts';
export { parseTraceparent, resolveRequestId, type TraceContext } from './request-id.ts';
