/** The logging the Service Bus adapters need; a pino logger (`@mcp-broker/runtime`'s `Logger`) fits. */
export interface ServiceBusLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** Discards everything. */
export const silentLogger: ServiceBusLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
