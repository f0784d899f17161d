import { readFile } from 'node:fs/promises';
import { brokerConfigSchema } from '@mcp-broker/broker-config';
import { parse as parseYaml } from 'yaml';
import type { Printer } from '../printer.ts';

export interface ConfigIssue {
  /** Where in the file, e.g. `callers.0.upstream.endpoint` (`(root)` for the document itself). */
  path: string;
  message: string;
}

export interface ConfigValidation {
  file: string;
  valid: boolean;
  issues: ConfigIssue[];
  callers?: number;
  endpoints?: number;
}

/** Every problem of a broker configuration file, each with its path; the services refuse the same file. */
export async function validateConfigFile(file: string): Promise<ConfigValidation> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return {
      file,
      valid: false,
      issues: [{ path: '(file)', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}` }],
    };
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    return {
      file,
      valid: false,
      issues: [{ path: '(file)', message: `not valid YAML/JSON: ${(err as Error).message}` }],
    };
  }
  const result = brokerConfigSchema.safeParse(raw);
  if (!result.success) {
    return {
      file,
      valid: false,
      issues: result.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message })),
    };
  }
  return {
    file,
    valid: true,
    issues: [],
    callers: result.data.callers.length,
    endpoints: Object.keys(result.data.endpoints).length,
  };
}

export async function configValidate(file: string, printer: Printer): Promise<number> {
  const validation = await validateConfigFile(file);
  printer.result(validation, (v) =>
    v.valid
      ? [`${v.file}: valid (${v.callers} callers, ${v.endpoints} endpoints)`]
      : [`${v.file}: ${v.issues.length} problem(s)`, ...v.issues.map((i) => `  ${i.path}: ${i.message}`)],
  );
  return validation.valid ? 0 : 1;
}
