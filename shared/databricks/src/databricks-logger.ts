/**
 * The little this package logs through: a structural subset of pino's `Logger`, so the services
 * pass their own logger and tests a recorder. Nothing logged here carries a secret or a token.
 */
export interface DatabricksLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: DatabricksLogger = { info: () => {}, warn: () => {}, error: () => {} };
