import { ContainerClient as BlobContainerClient, type ContainerClient, RestError } from '@azure/storage-blob';
import {
  type DocumentFormat,
  type DocumentStorage,
  documentFormats,
  formatMedia,
  type NewDocument,
  type StoredFormat,
  sha256Hex,
} from './document-storage.ts';

/** Blob names are `{prefix}{id}.{extension}`; ids are checked so a name never leaves the prefix. */
const BLOB_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

export interface BlobDocumentStorageOptions {
  /** The container documents are written to; created on first write when missing. */
  container: ContainerClient;
  /** Prepended to every blob name. Default `documents/`. */
  prefix?: string;
}

/** The blob holding one format of a document. Throws for ids that are not plain names. */
export function blobNameFor(id: string, format: DocumentFormat, prefix = 'documents/'): string {
  if (!BLOB_ID.test(id) || id.includes('..')) throw new RangeError(`Document id "${id}" is not a valid blob name part`);
  return `${prefix}${id}.${formatMedia[format].extension}`;
}

/**
 * Keeps each format of a document as its own block blob, `documents/{id}.html` and
 * `documents/{id}.md`, with its content type, download name and SHA-256 in the blob's headers and
 * metadata. Writes are conditional (`If-None-Match: *`), so an existing blob is never overwritten and
 * a second `put` of the same id answers `created: false`. Used instead of the Cosmos container when a
 * storage account is configured (documents larger than a Cosmos item, lifecycle rules, CDN).
 *
 * Not exercised against Azure Storage in this repository's tests (no account or emulator here);
 * the tests cover the name scheme and construction only.
 */
export class BlobDocumentStorage implements DocumentStorage {
  readonly #container: ContainerClient;
  readonly #prefix: string;
  #ready: Promise<unknown> | undefined;

  constructor(options: BlobDocumentStorageOptions) {
    this.#container = options.container;
    this.#prefix = options.prefix ?? 'documents/';
  }

  /** Storage over the container `containerName` of the account in `connectionString`. */
  static fromConnectionString(connectionString: string, containerName: string, prefix?: string): BlobDocumentStorage {
    return new BlobDocumentStorage({
      container: new BlobContainerClient(connectionString, containerName),
      ...(prefix === undefined ? {} : { prefix }),
    });
  }

  async put(document: NewDocument, signal?: AbortSignal): Promise<{ created: boolean }> {
    this.#ready ??= this.#container.createIfNotExists().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    await this.#ready;
    let created = false;
    for (const format of documentFormats) {
      const body = Buffer.from(document.bodies[format], 'utf8');
      const disposition = format === 'html' ? 'inline' : 'attachment';
      try {
        await this.#container
          .getBlockBlobClient(blobNameFor(document.id, format, this.#prefix))
          .upload(body, body.length, {
            blobHTTPHeaders: {
              blobContentType: formatMedia[format].contentType,
              blobContentDisposition: `${disposition}; filename="${document.fileName}.${formatMedia[format].extension}"`,
            },
            metadata: {
              ...lowerKeys(document.metadata),
              kind: document.kind,
              filename: document.fileName,
              sha256: sha256Hex(body),
            },
            conditions: { ifNoneMatch: '*' },
            ...(signal ? { abortSignal: signal } : {}),
          });
        created = true;
      } catch (error) {
        // 409 BlobAlreadyExists: the conditional write found the blob; its content is the same.
        if (!(error instanceof RestError && (error.statusCode === 409 || error.statusCode === 412))) throw error;
      }
    }
    return { created };
  }

  async get(id: string, format: DocumentFormat, signal?: AbortSignal): Promise<StoredFormat | undefined> {
    let name: string;
    try {
      name = blobNameFor(id, format, this.#prefix);
    } catch {
      return undefined;
    }
    try {
      const response = await this.#container
        .getBlobClient(name)
        .download(0, undefined, signal ? { abortSignal: signal } : {});
      const chunks: Buffer[] = [];
      for await (const chunk of response.readableStreamBody ?? []) chunks.push(Buffer.from(chunk as Uint8Array));
      const body = Buffer.concat(chunks);
      return {
        id,
        format,
        fileName: response.metadata?.filename ?? id,
        contentType: formatMedia[format].contentType,
        body,
        sha256: sha256Hex(body),
      };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }
}

/** Blob metadata names are case-insensitive C# identifiers; keep them lower case. */
function lowerKeys(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase().replace(/[^a-z0-9_]/g, '_'), v]));
}
