import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { analyze } from '../../analyze/analysis.js';
import { formatSummary } from '../../analyze/summary.js';
import { restoreGuard, snapshotGuard } from '../../guard/guard-snapshot.js';
import { TunnelGuard } from '../../guard/tunnel-guard.js';
import type { Sensitivity } from '../../guard/verdict.js';
import { type Command, parseCommandArgs, UsageError } from '../args.js';

const SENSITIVITIES = ['low', 'medium', 'high'];
const FLUSH_BYTES = 1 << 20;

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'run Tunnel Guard over captures or query logs, offline',
  help: `Usage: dnsward analyze [--learn FILE]... [--out FILE] [--state FILE] [--sensitivity low|medium|high] INPUT...

Runs Tunnel Guard, the same engine the server runs, over INPUT files in order and
writes exactly one JSON line per query, in input order:
  {"ts", "client", "qname", "qtype", "domain", "action": "allow"|"monitor"|"block",
   "score": 0..1, "reasons": [...], "stages": [{"name", "score", "evidence"}]}
A summary goes to stderr: per-domain verdicts, top detections, likely false
positives, and what could not be read. Same input, same output.

INPUT and --learn files are either
  pcap or pcapng (Ethernet, Linux cooked v1/v2, raw IP, BSD loopback; IPv4/IPv6;
  DNS over UDP and TCP on port 53; responses are used as observations), or
  JSONL, one object per line: {"ts": <unix seconds>, "client": "<ip>",
  "qname": "<name>", "qtype": "TXT" or 16}, optional "rcode" and "answer_size";
  other fields are ignored; dnsward's own 'queries --json' output is read too.

Options:
  --learn FILE        this network's normal traffic, learned before INPUT (repeatable;
                      no output lines for it)
  --out FILE          write the JSONL here instead of stdout
  --state FILE        load what was learned from FILE if it exists, save it back after
  --sensitivity S     low, medium (default) or high: the one setting there is

Exit status: 0 when done (detections or not), 1 when no query could be read from
the inputs or the state is unreadable, 2 on bad usage.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        learn: { type: 'string', multiple: true },
        out: { type: 'string' },
        state: { type: 'string' },
        sensitivity: { type: 'string' },
      },
      true,
    );
    if (positionals.length === 0) throw new UsageError('analyze needs at least one INPUT file');
    const sensitivity = values.sensitivity ?? 'medium';
    if (!SENSITIVITIES.includes(sensitivity))
      throw new UsageError(`--sensitivity must be low, medium or high, not "${sensitivity}"`);
    const learn = values.learn ?? [];
    for (const file of [...learn, ...positionals]) if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    const guard = new TunnelGuard({ sensitivity: sensitivity as Sensitivity });
    if (values.state !== undefined && existsSync(values.state)) {
      try {
        restoreGuard(guard, JSON.parse(readFileSync(values.state, 'utf8')));
      } catch (err) {
        console.error(`dnsward analyze: cannot load --state ${values.state}: ${(err as Error).message}`);
        return 1;
      }
    }
    const fd = values.out === undefined ? 1 : openSync(values.out, 'w');
    let pending: string[] = [];
    let pendingBytes = 0;
    const flush = () => {
      if (pending.length === 0) return;
      writeSync(fd, pending.join(''));
      pending = [];
      pendingBytes = 0;
    };
    const bar = process.stderr.isTTY ? progressBar : undefined;
    const result = analyze({
      guard,
      learn,
      inputs: positionals,
      write(line) {
        pending.push(line, '\n');
        pendingBytes += line.length + 1;
        if (pendingBytes >= FLUSH_BYTES) flush();
      },
      progress: bar,
    });
    flush();
    if (fd !== 1) closeSync(fd);
    if (bar) process.stderr.write('\r\x1b[K');
    if (values.state !== undefined) {
      // Write then rename, so a crash never leaves half a state file.
      writeFileSync(`${values.state}.tmp`, JSON.stringify(snapshotGuard(guard)));
      renameSync(`${values.state}.tmp`, values.state);
    }
    console.error(formatSummary(result));
    return result.queries === 0 ? 1 : 0;
  },
};

function progressBar(done: number, total: number, queries: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.round((100 * done) / total)}%  ${queries} queries`,
  );
}
