import { createLogger, installGracefulShutdown, loadConfig } from '@mcp-broker/runtime';
import { mcpServerConfigSchema } from './config.ts';
import { startMcpServer } from './start.ts';

const config = loadConfig(mcpServerConfigSchema, process.env);
const logger = createLogger({ name: 'mcp-server', level: config.LOG_LEVEL });
const started = await startMcpServer(config, logger);
installGracefulShutdown([() => started.close()], { logger });
