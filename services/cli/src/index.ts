export { type CliEnv, type CliIo, EXIT, runCli, USAGE } from './run-cli.ts';
