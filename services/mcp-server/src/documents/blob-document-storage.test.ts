import { describe, expect, it } from 'vitest';
import { BlobDocumentStorage, blobNameFor } from './blob-document-storage.ts';

// Only what runs without an Azure Storage account: the name scheme and construction. put/get
// against a real account or Azurite are not exercised in this repository.
describe('BlobDocumentStorage (offline parts)', () => {
  it('names one blob per format under the prefix', () => {
    const id = `ctr-${'a'.repeat(64)}`;
    expect(blobNameFor(id, 'html')).toBe(`documents/${id}.html`);
    expect(blobNameFor(id, 'markdown')).toBe(`documents/${id}.md`);
    expect(blobNameFor(id, 'html', 'tenant-a/contracts/')).toBe(`tenant-a/contracts/${id}.html`);
  });

  it('refuses ids that could leave the prefix or are not plain names', () => {
    for (const id of ['', '../x', 'a/b', 'a\\b', '.hidden', 'a..b', 'a b', 'a?b', 'x'.repeat(201)]) {
      expect(() => blobNameFor(id, 'html'), JSON.stringify(id)).toThrow(RangeError);
    }
  });

  it('is built from a connection string without contacting the account', async () => {
    const storage = BlobDocumentStorage.fromConnectionString('UseDevelopmentStorage=true', 'documents');
    expect(storage).toBeInstanceOf(BlobDocumentStorage);
    // An id that cannot be a blob name is unknown, answered without a request.
    await expect(storage.get('../etc/passwd', 'html')).resolves.toBeUndefined();
  });
});
