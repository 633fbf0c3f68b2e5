/** The dot: and doh: listener lists: certificate files read at load, with errors that name the key. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeCaSignedCert, makeSelfSignedCert } from '../helpers/certificates.js';
import { configProblems, loadConfigText } from '../helpers/config.js';

describe('dot and doh config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-tls-config-'));
  const good = makeCaSignedCert(dir, 'good', 'dns.test');
  const other = makeSelfSignedCert(dir, 'other');
  const base = 'upstreams: { servers: ["127.0.0.1:53"] }\n';

  it('loads the PEM text, with default ports and path', () => {
    const c = loadConfigText(
      `${base}dot: [{ listen: "127.0.0.1", cert: "${good.cert}", key: "${good.key}" }]\ndoh: [{ listen: "127.0.0.1", cert: "${good.cert}", key: "${good.key}" }]\n`,
    );
    assert.equal(c.dot[0].listen.port, 853);
    assert.match(c.dot[0].cert, /-----BEGIN CERTIFICATE-----/);
    assert.equal(c.doh[0].listen.port, 443);
    assert.equal(c.doh[0].path, '/dns-query');
  });

  it('names the key of a missing file', () => {
    const problems = configProblems(
      `${base}dot: [{ listen: "127.0.0.1:853", cert: "${join(dir, 'missing.crt')}", key: "${good.key}" }]\n`,
    );
    assert.ok(
      problems.some((p) => /dot\[0\]\.cert/.test(p) && /cannot read .*missing\.crt/.test(p)),
      problems.join('\n'),
    );
  });

  it("refuses a key that is not the certificate's", () => {
    const problems = configProblems(
      `${base}doh: [{ listen: "127.0.0.1:443", cert: "${good.cert}", key: "${other.key}" }]\n`,
    );
    assert.ok(
      problems.some((p) => /doh\[0\]\.key/.test(p) && /private key of cert/.test(p)),
      problems.join('\n'),
    );
  });

  it('refuses a path that is not absolute', () => {
    const problems = configProblems(
      `${base}doh: [{ listen: "127.0.0.1:443", cert: "${good.cert}", key: "${good.key}", path: "dns-query" }]\n`,
    );
    assert.ok(
      problems.some((p) => /doh\[0\]\.path/.test(p)),
      problems.join('\n'),
    );
  });
});
