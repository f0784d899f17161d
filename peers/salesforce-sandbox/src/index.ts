export type { DeliveredEvent, RetentionOptions } from './event-bus.ts';
export type { SalesforceFaults } from './fault-injection.ts';
export type { JwtVerificationKey } from './oauth-endpoint.ts';
export { type SalesforceSandbox, type SalesforceSandboxOptions, startSalesforceSandbox } from './salesforce-sandbox.ts';
export { DEFAULT_SOBJECTS, type FieldDefinition, type SObjectDefinition } from './sobject-schema.ts';
export type { SObjectRecord } from './sobject-store.ts';
