import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';

/** A self-signed certificate for 127.0.0.1 / localhost, made at run time (never stored in the repository). */
export interface SelfSignedCertificate {
  /** PEM of the certificate; trust it with `trustCertificate` or NODE_EXTRA_CA_CERTS. */
  cert: string;
  /** PEM of its private key. */
  key: string;
}

/**
 * Makes a short-lived certificate with the system's `openssl`: Node can sign with a key but cannot
 * build an X.509 certificate, and the real SDK clients refuse bearer tokens over plain http, so the
 * sandboxes must speak https.
 */
export function createSelfSignedCertificate(): SelfSignedCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'event-grid-sandbox-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Adds the certificate to this process's default trust store (Node 24's tls.setDefaultCACertificates),
 * so the SDKs' own https agents accept the sandbox without any option reaching product code.
 */
export function trustCertificate(cert: string): void {
  const current = getCACertificates('default');
  if (current.includes(cert)) return;
  setDefaultCACertificates([...current, cert]);
}
