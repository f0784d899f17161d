export { toolCallId } from './tool-call-id.ts';
export {
  type CreateOutcome,
  type ListOptions,
  type RepositoryOptions,
  ToolCallRepository,
} from './tool-call-repository.ts';
