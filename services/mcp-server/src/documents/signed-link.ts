import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DocumentFormat } from './document-storage.ts';
import { documentFormats } from './document-storage.ts';

/** Document ids that may appear in a link: no `|` (the signed payload's separator), no `/`. */
const DOCUMENT_ID = /^[A-Za-z0-9._-]{1,200}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
const MIN_SECRET_BYTES = 32;

export interface DocumentLinkSignerOptions {
  /** HMAC-SHA256 key, at least 32 bytes; shared by every replica (a per-start random key in dev). */
  secret: string | Buffer;
  /** The server's externally visible base URL (`PUBLIC_URL`); links are `{baseUrl}/documents/{id}?…`. */
  baseUrl: string;
  /** Clock in milliseconds since the epoch, for tests. Default `Date.now`. */
  now?: () => number;
}

/** A signed, expiring link to one format of a stored document. */
export interface SignedLink {
  url: string;
  /** Expiry in seconds since the epoch (the `expires` query parameter). */
  expires: number;
  /** The same expiry as an ISO 8601 timestamp. */
  expiresAt: string;
}

/** What a link presented to the server carries; every field as received (query strings are untyped). */
export interface PresentedLink {
  id: string;
  format: unknown;
  expires: unknown;
  sig: unknown;
}

/** Why a presented link was refused. */
export type LinkRejection = 'missing_parameter' | 'bad_format' | 'bad_expires' | 'bad_signature' | 'expired';

export type LinkVerification =
  | { ok: true; id: string; format: DocumentFormat; expires: number }
  | { ok: false; reason: LinkRejection; message: string };

/**
 * Signs and verifies document links: `sig` is HMAC-SHA256 (base64url) over `id|format|expires`, so a
 * link names one document in one format until one moment, and any change to the three invalidates
 * it. Verification compares in constant time; the expiry is checked after the signature, so an
 * attacker learns nothing about a link they cannot sign.
 */
export class DocumentLinkSigner {
  readonly #secret: Buffer;
  readonly #baseUrl: string;
  readonly #now: () => number;

  constructor(options: DocumentLinkSignerOptions) {
    const secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : options.secret;
    if (secret.length < MIN_SECRET_BYTES) {
      throw new RangeError(`The document link secret must be at least ${MIN_SECRET_BYTES} bytes, got ${secret.length}`);
    }
    this.#secret = Buffer.from(secret);
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#now = options.now ?? Date.now;
  }

  /** Current time in whole seconds since the epoch, from the injected clock. */
  nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** A link to `format` of document `id`, valid for `ttlSeconds` from now. */
  link(id: string, format: DocumentFormat, ttlSeconds: number): SignedLink {
    if (!DOCUMENT_ID.test(id)) throw new RangeError(`Document id "${id}" cannot be linked (A-Z a-z 0-9 . _ - only)`);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
      throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
    }
    const expires = this.nowSeconds() + ttlSeconds;
    const query = new URLSearchParams({ format, expires: String(expires), sig: this.sign(id, format, expires) });
    return {
      url: `${this.#baseUrl}/documents/${encodeURIComponent(id)}?${query}`,
      expires,
      expiresAt: new Date(expires * 1000).toISOString(),
    };
  }

  /** The base64url HMAC-SHA256 of `id|format|expires`. */
  sign(id: string, format: DocumentFormat, expires: number): string {
    return this.#mac(id, format, expires).toString('base64url');
  }

  /** Checks a presented link: parameters, then signature (constant time), then expiry. */
  verify(link: PresentedLink): LinkVerification {
    const missing = (['format', 'expires', 'sig'] as const).filter(
      (name) => link[name] === undefined || link[name] === '',
    );
    if (missing.length > 0) {
      return reject('missing_parameter', `The link lacks ${missing.map((m) => `"${m}"`).join(', ')}.`);
    }
    const { id, format, expires, sig } = link;
    if (typeof format !== 'string' || !(documentFormats as readonly string[]).includes(format)) {
      return reject('bad_format', `"format" must be one of ${documentFormats.join(', ')}.`);
    }
    if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires)) {
      return reject('bad_expires', '"expires" must be a Unix time in seconds.');
    }
    const expiresAt = Number(expires);
    // A malformed id or signature cannot have been signed by us; it is simply a bad signature.
    const valid =
      DOCUMENT_ID.test(id) &&
      typeof sig === 'string' &&
      SIGNATURE.test(sig) &&
      timingSafeEqual(Buffer.from(sig, 'base64url'), this.#mac(id, format as DocumentFormat, expiresAt));
    if (!valid) return reject('bad_signature', 'The link signature does not match; use the link exactly as issued.');
    if (expiresAt <= this.nowSeconds()) {
      return reject('expired', `The link expired at ${new Date(expiresAt * 1000).toISOString()}; request a new one.`);
    }
    return { ok: true, id, format: format as DocumentFormat, expires: expiresAt };
  }

  #mac(id: string, format: DocumentFormat, expires: number): Buffer {
    return createHmac('sha256', this.#secret).update(`${id}|${format}|${expires}`).digest();
  }
}

function reject(reason: LinkRejection, message: string): LinkVerification {
  return { ok: false, reason, message };
}
