/** Self-signed certificates for the tests' TLS peers, made with Debian's openssl. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** PEM files for a TLS peer: its certificate and key, and the CA that signed it (the certificate itself). */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** A self-signed certificate for 127.0.0.1. */
export function makeSelfSignedCert(dir: string, name = 'collector'): TlsFiles {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { ca: cert, cert, key };
}
