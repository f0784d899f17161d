/**
 * A numeric setting of a benchmark or chaos run: the fallback when unset or empty, otherwise a
 * finite number at least `min`, or an error naming the variable and what it got.
 */
export function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return value;
}
