import type { ToolCallIntake } from '@mcp-broker/broker';

/**
 * The one call every source hands a tool call to the broker core through (`intake.accept`). It
 * throws only for transient trouble (store or Redis down, the key being accepted elsewhere), and
 * then the doorbell job is tried again.
 */
export type ToolCallAcceptor = Pick<ToolCallIntake, 'accept'>;
