import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/**
 * Where `npm start` writes its logs: a file under the data directory, so the terminal keeps the
 * banner and the start-up call's result readable (`tail -f` the file to watch the stack).
 */
export function openDevLogFile(dataDir: string): { path: string; stream: WriteStream } {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'dev-stack.log');
  return { path, stream: createWriteStream(path, { flags: 'a', mode: 0o600 }) };
}
