import { createHash } from 'node:crypto';

/** The formats a generated document is stored in. */
export const documentFormats = ['html', 'markdown'] as const;
export type DocumentFormat = (typeof documentFormats)[number];

/** How each format is served. */
export const formatMedia: Record<DocumentFormat, { contentType: string; extension: string }> = {
  html: { contentType: 'text/html; charset=utf-8', extension: 'html' },
  markdown: { contentType: 'text/markdown; charset=utf-8', extension: 'md' },
};

/** A document to store: one body per format, plus what describes it. */
export interface NewDocument {
  /** Content-addressed id: the same content always gets the same id. */
  id: string;
  /** What the document is, e.g. `contract`. */
  kind: string;
  /** File name without extension for downloads, e.g. `contract-opp-000042-03-standard`. */
  fileName: string;
  /** Small non-secret facts kept with the document (opportunity id, template…). */
  metadata: Record<string, string>;
  bodies: Record<DocumentFormat, string>;
}

/** One stored format of a document, as served. */
export interface StoredFormat {
  id: string;
  format: DocumentFormat;
  fileName: string;
  contentType: string;
  body: Buffer;
  /** Hex SHA-256 of `body`. */
  sha256: string;
}

/**
 * Where generated documents live. Writes are idempotent: storing an id that exists leaves the stored
 * document as it is (ids are content-addressed, so its content is the same).
 */
export interface DocumentStorage {
  /** Stores the document unless its id exists; `created` says which happened. */
  put(document: NewDocument, signal?: AbortSignal): Promise<{ created: boolean }>;
  /** One format of a document, or undefined when no document has that id. */
  get(id: string, format: DocumentFormat, signal?: AbortSignal): Promise<StoredFormat | undefined>;
}

export function sha256Hex(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
