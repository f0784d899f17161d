import { type Meter, metrics } from '@opentelemetry/api';

/**
 * The meter every instrument of the broker is created on: the SDK's when startTelemetry
 * registered one, otherwise the API's no-op (instruments that record nothing, at no cost).
 */
export function brokerMeter(): Meter {
  return metrics.getMeter('mcp-broker');
}
