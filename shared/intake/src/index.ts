export type { ArgumentProblems, ArgumentValidator } from './argument-validator.ts';
export { CatalogArgumentValidator } from './catalog-argument-validator.ts';
export {
  type Correlation,
  createToolCallIntake,
  type Submission,
  ToolCallIntake,
  type ToolCallIntakeOptions,
} from './tool-call-intake.ts';
export { WriteBackPolicy } from './write-back-policy.ts';
