/**
 * The little this package logs through: a structural subset of pino's `Logger`, so the services
 * pass their own logger and tests pass a recorder. Nothing logged here carries a secret or a token.
 */
export interface SalesforceLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: SalesforceLogger = {
  info: () => {},
  warn: () => {},
};
