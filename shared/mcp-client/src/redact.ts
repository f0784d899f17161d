/**
 * Removes every occurrence of the given secrets (and their URL/form encodings) from a text meant for
 * a person: error messages may quote what a peer answered, and a peer may echo what it was sent.
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
    ])) {
      out = out.split(form).join('[redacted]');
    }
  }
  return out;
}
