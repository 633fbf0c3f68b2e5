/**
 * Generated DNS traffic of one CI runner over a day: a build host that, for each job, pulls
 * container layers and packages in a burst of a few hundred lookups within a minute or two,
 * then is quiet until the next job:
 *
 * - package registries and their mirrors (`registry.<pm>`, `mirror-<n>.<region>.<mirror>`);
 * - container registries and the blob hosts their layers redirect to, whose names carry a
 *   content hash or a per-account id (`<hex32>.blob.<store>`, `prod-<region>-<hex8>.<store>`);
 * - cloud storage buckets of build caches and artifacts (`ci-cache-<hex8>.<region>.objects.<cloud>`);
 * - the CI service's own per-run hosts (`run-<id>-<hex>.pipelines.<ci>`), source hosts and
 *   artifact names with versions (`v1-42-7.<artifact host>`).
 *
 * Every registry, mirror, storage and CI name here is invented. Deterministic for a seed; `npm
 * run eval` uses a seed the prior was never trained on.
 */
import { ALNUM, HEX, Random } from './random.js';
import { pseudoWord, WORDS } from './vocabulary.js';
import type { GeneratedQuery } from './benign-traffic.js';

export type CiRunnerKind = 'ci-registry' | 'ci-blob' | 'ci-bucket' | 'ci-pipeline';

export interface CiRunnerOptions {
  seed: number;
  client: string;
  start: number;
  durationSeconds: number;
  /** Jobs started per hour, on average. */
  jobsPerHour: number;
}

const PACKAGE_REGISTRIES = ['pkgvault.org', 'npmhaven.com', 'pypiverse.org', 'crateyard.io', 'mavenhold.net'];
const MIRRORS = ['fastmirror.net', 'pkgmirror-cdn.com'];
const CONTAINER_REGISTRIES = ['containerdock.io', 'imagehold.dev'];
const BLOB_STORES = ['layerstore-cdn.net', 'blobshelf.com'];
const CLOUD = 'stratocloud-storage.com';
const CI_SERVICE = 'buildpilot-ci.com';
const REGIONS = ['eu-central-1', 'eu-west-1', 'us-east-1', 'us-west-2'];

export function generateCiRunnerTraffic(o: CiRunnerOptions): GeneratedQuery[] {
  const rng = new Random(o.seed);
  // The repositories this runner builds, each with its own dependencies, images and buckets.
  const projects = Array.from({ length: 40 }, () => ({
    name: `${rng.pick(WORDS)}-${pseudoWord(rng)}`,
    packages: Array.from(
      { length: rng.int(20, 120) },
      () => `${pseudoWord(rng)}${rng.next() < 0.3 ? `-${rng.pick(WORDS)}` : ''}`,
    ),
    registry: rng.pick(PACKAGE_REGISTRIES),
    images: rng.int(1, 4),
    bucket: `ci-cache-${rng.chars(HEX, 8)}`,
  }));
  const out: GeneratedQuery[] = [];
  const push = (ts: number, qname: string, qtype: number, kind: CiRunnerKind) =>
    out.push({ ts, client: o.client, qname, qtype, kind });
  let ts = o.start + rng.exp(3600 / o.jobsPerHour);
  while (ts < o.start + o.durationSeconds) {
    const p = rng.zipf(projects);
    let t = ts;
    const step = () => (t += rng.exp(0.25));
    const runId = rng.int(1000000, 9999999);
    push(step(), `${rng.pick(['api', 'runner', 'results'])}.${CI_SERVICE}`, 1, 'ci-pipeline');
    push(step(), `run-${runId}-${rng.chars(HEX, 6)}.pipelines.${CI_SERVICE}`, 1, 'ci-pipeline');
    push(step(), `src.${rng.pick(['gitforge.dev', 'codehost-enterprise.com'])}`, 1, 'ci-pipeline');
    // Container images: registry auth, then each layer's blob host (hash-named, per layer).
    for (let i = 0; i < p.images; i++) {
      const registry = rng.pick(CONTAINER_REGISTRIES);
      push(step(), `registry.${registry}`, 1, 'ci-registry');
      push(step(), `auth.${registry}`, 1, 'ci-registry');
      const layers = rng.int(3, 12);
      for (let l = 0; l < layers; l++) {
        const store = rng.pick(BLOB_STORES);
        const r = rng.next();
        if (r < 0.5) push(step(), `${rng.chars(HEX, 32)}.blob.${store}`, 1, 'ci-blob');
        else if (r < 0.8) push(step(), `prod-${rng.pick(REGIONS)}-${rng.chars(HEX, 8)}.${store}`, 1, 'ci-blob');
        else push(step(), `sha256-${rng.chars(HEX, 12)}.layers.${rng.pick(REGIONS)}.${store}`, 28, 'ci-blob');
      }
    }
    // Packages: the registry and mirrors, some per-package hosts with versions, tarball CDN.
    const packages = rng.int(10, 60);
    for (let i = 0; i < packages; i++) {
      const pkg = rng.pick(p.packages);
      const r = rng.next();
      if (r < 0.4) push(step(), `registry.${p.registry}`, rng.next() < 0.7 ? 1 : 28, 'ci-registry');
      else if (r < 0.65)
        push(step(), `mirror-${rng.int(1, 12)}.${rng.pick(REGIONS)}.${rng.pick(MIRRORS)}`, 1, 'ci-registry');
      else if (r < 0.85)
        push(
          step(),
          `${pkg}-${rng.int(0, 9)}-${rng.int(0, 40)}-${rng.int(0, 20)}.files.${p.registry}`,
          1,
          'ci-registry',
        );
      else
        push(
          step(),
          `${rng.chars(HEX, 2)}.${rng.chars(HEX, 2)}.${rng.chars(HEX, 28)}.dl.${p.registry}`,
          1,
          'ci-registry',
        );
    }
    // Build cache and artifacts: the project's bucket and presigned, per-object hosts.
    push(step(), `${p.bucket}.${rng.pick(REGIONS)}.objects.${CLOUD}`, 1, 'ci-bucket');
    for (let i = rng.int(0, 4); i > 0; i--)
      push(step(), `${p.name}-artifacts-${rng.chars(ALNUM, 6)}.${rng.pick(REGIONS)}.objects.${CLOUD}`, 1, 'ci-bucket');
    push(step(), `results-${rng.chars(HEX, 10)}.${CI_SERVICE}`, 1, 'ci-pipeline');
    ts += rng.exp(3600 / o.jobsPerHour);
  }
  out.sort((a, b) => a.ts - b.ts);
  return out;
}
