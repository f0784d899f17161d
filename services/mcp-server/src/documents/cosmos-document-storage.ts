import type { Store } from '@mcp-broker/store';
import {
  type DocumentFormat,
  type DocumentStorage,
  documentFormats,
  formatMedia,
  type NewDocument,
  type StoredFormat,
  sha256Hex,
} from './document-storage.ts';

/** A document as kept in the `documents` container (partition key `/id`). */
interface DocumentItem {
  id: string;
  kind: string;
  fileName: string;
  metadata: Record<string, string>;
  createdAt: string;
  formats: Record<DocumentFormat, { contentType: string; sha256: string; bytes: number; body: string }>;
}

/**
 * Keeps each document as one item in the store's `documents` container, every format's text inline
 * (generated contracts are a few kilobytes; a Cosmos DB item may hold 2 MB). The default, and the
 * only storage when no blob account is configured. `put` is a create that treats 409 Conflict as
 * "already stored", so the same id is written once however often it is generated.
 */
export class CosmosDocumentStorage implements DocumentStorage {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, options: { now?: () => number } = {}) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
  }

  async put(document: NewDocument, signal?: AbortSignal): Promise<{ created: boolean }> {
    const item: DocumentItem = {
      id: document.id,
      kind: document.kind,
      fileName: document.fileName,
      metadata: document.metadata,
      createdAt: new Date(this.#now()).toISOString(),
      formats: Object.fromEntries(
        documentFormats.map((format) => {
          const body = document.bodies[format];
          return [
            format,
            {
              contentType: formatMedia[format].contentType,
              sha256: sha256Hex(body),
              bytes: Buffer.byteLength(body, 'utf8'),
              body,
            },
          ];
        }),
      ) as DocumentItem['formats'],
    };
    try {
      await this.#store.container('documents').items.create(item, signal ? { abortSignal: signal } : undefined);
      return { created: true };
    } catch (error) {
      if ((error as { code?: unknown }).code === 409) return { created: false };
      throw error;
    }
  }

  async get(id: string, format: DocumentFormat, signal?: AbortSignal): Promise<StoredFormat | undefined> {
    const { resource } = await this.#store
      .container('documents')
      .item(id, id)
      .read<DocumentItem>(signal ? { abortSignal: signal } : undefined);
    const stored = resource?.formats?.[format];
    if (!resource || !stored) return undefined;
    const body = Buffer.from(stored.body, 'utf8');
    return { id, format, fileName: resource.fileName, contentType: stored.contentType, body, sha256: sha256Hex(body) };
  }
}
