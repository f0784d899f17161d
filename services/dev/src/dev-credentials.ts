import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DevOAuthClient } from '@mcp-broker/dev-oauth';

export interface DevCredentials {
  path: string;
  clients: DevOAuthClient[];
}

/**
 * Dev client secrets live in a git-ignored file readable only by the owner, never in a log line:
 * the start banner shows how to read them from the file instead.
 */
export async function loadOrCreateDevCredentials(
  dataDir: string,
  clients: Array<{ clientId: string; roles: string[] }>,
): Promise<DevCredentials> {
  const path = join(dataDir, 'dev-credentials.json');
  let secrets: Record<string, string> = {};
  try {
    secrets = (JSON.parse(await readFile(path, 'utf8')) as { secrets: Record<string, string> }).secrets ?? {};
  } catch {
    // First start, or an unreadable file: mint fresh secrets below.
  }
  let changed = false;
  const result = clients.map((c) => {
    let secret = secrets[c.clientId];
    if (!secret) {
      secret = randomBytes(24).toString('base64url');
      secrets[c.clientId] = secret;
      changed = true;
    }
    return { clientId: c.clientId, clientSecret: secret, roles: c.roles };
  });
  if (changed) {
    await mkdir(dataDir, { recursive: true });
    await writeFile(path, `${JSON.stringify({ secrets }, null, 2)}\n`, { mode: 0o600 });
  }
  return { path, clients: result };
}

/** The demo caller's Basic password, from the credentials file. */
export async function readDemoPassword(path: string): Promise<string> {
  const { secrets } = JSON.parse(await readFile(path, 'utf8')) as { secrets: Record<string, string> };
  const password = secrets['demo-caller-password'];
  if (!password) throw new Error(`${path} has no demo-caller-password; delete the file to regenerate it.`);
  return password;
}
