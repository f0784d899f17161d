import type { ErrorBody } from '@mcp-broker/contracts';
import type { FastifyInstance } from 'fastify';
import type { DocumentStorage } from '../documents/document-storage.ts';
import type { DocumentLinkSigner, LinkRejection } from '../documents/signed-link.ts';
import { CONTRACT_CONTENT_SECURITY_POLICY } from '../tools/contract-renderer.ts';

export interface DocumentRoutesOptions {
  storage: DocumentStorage;
  signer: DocumentLinkSigner;
}

/**
 * The stable code of a refused document link. Not yet in `@mcp-broker/contracts`' error catalogue;
 * until it is, the route writes the standard error body itself.
 */
export const DOCUMENT_LINK_INVALID = 'BROKER_DOCUMENT_LINK_INVALID';

/** Applies to the Markdown too: nothing a browser might render from it may load or run anything. */
const MARKDOWN_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox";

/**
 * `GET /documents/:id?format=html|markdown&expires=<unix>&sig=<base64url>` serves a stored document
 * to whoever holds a link signed by `generate_contract`. It sits outside the bearer-token pipeline:
 * the signature is the authorization, so the route checks it (constant time) before it looks at
 * storage, and a refused link never reveals whether the document exists.
 *
 * 403 with `details.reason` (missing_parameter, bad_format, bad_expires, bad_signature, expired) for
 * a refused link; 404 for a validly signed link to a document that is not stored.
 */
export function registerDocumentRoutes(app: FastifyInstance, options: DocumentRoutesOptions): void {
  const { storage, signer } = options;
  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
    '/documents/:id',
    async (request, reply) => {
      reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
      const { format, expires, sig } = request.query;
      const verification = signer.verify({ id: request.params.id, format, expires, sig });
      if (!verification.ok) {
        // Refusals are never cached; a served document is cached privately until its link expires.
        reply.status(403).header('cache-control', 'no-store');
        return linkError(verification.reason, verification.message, request.id);
      }
      const document = await storage.get(verification.id, verification.format);
      if (!document) {
        reply.status(404).header('cache-control', 'no-store');
        const body: ErrorBody = {
          error: {
            code: 'BROKER_NOT_FOUND',
            message: `No document "${verification.id}"; it may have been deleted. Generate it again.`,
            requestId: request.id,
          },
        };
        return body;
      }
      const maxAge = Math.max(0, verification.expires - signer.nowSeconds());
      const extension = document.format === 'html' ? 'html' : 'md';
      const disposition = document.format === 'html' ? 'inline' : 'attachment';
      const fileName = `${document.fileName}.${extension}`.replace(/[^A-Za-z0-9._-]/g, '_');
      return reply
        .status(200)
        .header('content-type', document.contentType)
        .header('content-disposition', `${disposition}; filename="${fileName}"`)
        .header('cache-control', `private, max-age=${maxAge}`)
        .header(
          'content-security-policy',
          document.format === 'html' ? CONTRACT_CONTENT_SECURITY_POLICY : MARKDOWN_CONTENT_SECURITY_POLICY,
        )
        .header('etag', `"${document.sha256}"`)
        .send(document.body);
    },
  );
}

function linkError(reason: LinkRejection, message: string, requestId: string): ErrorBody {
  return { error: { code: DOCUMENT_LINK_INVALID, message, requestId, details: { reason } } };
}
