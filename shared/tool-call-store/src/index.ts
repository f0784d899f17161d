export { toolCallId } from './tool-call-id.ts';
export {
  type CreateOutcome,
  type ListOptions,
  type RecordWithWorkLeft,
  type RepositoryOptions,
  ToolCallRepository,
} from './tool-call-repository.ts';
