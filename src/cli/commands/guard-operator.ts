/**
 * The operator's Tunnel Guard commands: `blocks`, `allow`, `unblock`, `quarantine` (`blocks` and
 * `unblock` also list and lift dynamic blocks of client prefixes). Each finds
 * the running dnsward through its data directory and talks to it over the control socket.
 */
import { MAX_COMMENT_LENGTH } from '../../control/operator-comment.js';
import { operatorSeconds, untilText } from '../../control/operator-duration.js';
import { ControlError, sendControl } from '../../control/control-client.js';
import type { StageReport } from '../../guard/verdict.js';
import { parseCidr } from '../../util/cidr.js';
import { type Command, parseCommandArgs, UsageError } from '../args.js';
import type { BlocksReply } from '../../control/blocks-reply.js';
import { LOCATION_OPTIONS, locateDataDir } from '../server-location.js';

function seconds(text: string | undefined, fallback: number, allowForever = false): number {
  const secs = operatorSeconds(text, fallback, allowForever);
  if (typeof secs === 'string') throw new UsageError(`--for must be ${secs}`);
  return secs;
}

async function talk(name: string, dataDir: string, request: Parameters<typeof sendControl>[1]): Promise<unknown> {
  try {
    return await sendControl(dataDir, request);
  } catch (err) {
    if (err instanceof ControlError) {
      console.error(`dnsward ${name}: ${err.message}`);
      return undefined;
    }
    throw err;
  }
}

const iso = (s: number) => new Date(s * 1000).toISOString();

/** Every operator change takes a note for the audit log (control/operator-comment.ts checks it). */
const COMMENT_OPTION = { comment: { type: 'string' } } as const;
const COMMENT_HELP = `--comment TEXT is kept with the change in the audit log (why, a ticket): one
line, at most ${MAX_COMMENT_LENGTH} characters.`;

function formatStages(stages: StageReport[]): string[] {
  return stages.map(
    (s) =>
      `      ${s.name.padEnd(8)} ${s.score.toFixed(2)}  ${Object.entries(s.evidence)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`)
        .join(' ')}`,
  );
}

export const blocksCommand: Command = {
  name: 'blocks',
  locates: true,
  summary: 'list Tunnel Guard blocks, allows and quarantines, with their traces, and dynamic blocks',
  help: `Usage: dnsward blocks [-c FILE] [--data-dir DIR] [--json]

Lists the running dnsward's current domain blocks (for every client, or for the
one client that tripped it when many other clients use the domain normally;
incident, since, until, offence count, the client that tripped it, bytes leaked,
the reasons and every stage's score and evidence), operator allows and
quarantines, the dynamic blocks of client prefixes (defence.dynamicBlocks: the
rule, what was seen, the action, since and until), and the latest operator
changes. --json prints the raw reply.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { ...LOCATION_OPTIONS, json: { type: 'boolean' } });
    const reply = (await talk('blocks', locateDataDir(values), { cmd: 'blocks' })) as BlocksReply | undefined;
    if (reply === undefined) return 1;
    if (values.json) {
      console.log(JSON.stringify(reply, null, 2));
      return 0;
    }
    console.log(`Tunnel Guard mode: ${reply.mode}`);
    if (reply.cluster)
      console.log(
        `Cluster node ${reply.cluster.node}: ${reply.cluster.connected ? 'connected to Redis, decisions shared' : 'Redis unreachable, deciding alone'}`,
      );
    // In a cluster every entry names the node that decided it.
    const on = (origin: string | null | undefined) => (origin ? `, decided on ${origin}` : '');
    console.log(`\nBlocked domains (${reply.blocks.length}):`);
    for (const b of reply.blocks) {
      const scope = b.scope === 'client' ? `blocked for ${b.client} only` : 'blocked for every client';
      console.log(
        `  ${b.domain}  incident ${b.incident}, offence ${b.offenses}, ${scope}, since ${iso(b.since)} until ${iso(b.until)}, tripped by ${b.client}, ~${Math.round(b.leakedBytes)} B leaked${on(b.origin)}`,
      );
      for (const r of b.reasons) console.log(`    why: ${r}`);
      for (const line of formatStages(b.stages)) console.log(line);
    }
    console.log(`Allowed (${reply.allows.length}):`);
    for (const a of reply.allows)
      console.log(
        `  ${a.domain ?? '*'}${a.client ? ` from ${a.client}` : ''} until ${untilText(a.until)} (by ${a.by}${on(a.origin)})`,
      );
    console.log(`Quarantined clients (${reply.quarantines.length}):`);
    for (const q of reply.quarantines)
      console.log(`  ${q.client} until ${iso(q.until)} (by ${q.by}, incident ${q.incident}${on(q.origin)})`);
    console.log(`Dynamic blocks (${reply.dynamic.length}):`);
    for (const d of reply.dynamic) {
      console.log(
        `  ${d.prefix}  rule ${d.rule}, ${d.action}, since ${iso(d.since)} until ${iso(d.until)}${d.extensions > 0 ? `, extended ${d.extensions}x` : ''}`,
      );
      console.log(`    why: ${d.reason}`);
    }
    if (reply.audit.length > 0) {
      console.log('Latest operator changes:');
      for (const a of reply.audit)
        console.log(
          `  ${new Date(a.at).toISOString()} ${a.who}: ${a.action} ${a.subject}${a.comment ? ` ("${a.comment}")` : ''}`,
        );
    }
    return 0;
  },
};

export const allowCommand: Command = {
  name: 'allow',
  locates: true,
  summary: 'let a domain (or a client range) through Tunnel Guard, for a while',
  help: `Usage: dnsward allow DOMAIN [--client CIDR] [--for DURATION|forever] [--comment TEXT] [-c FILE] [--data-dir DIR]
       dnsward allow --client CIDR [--for DURATION|forever] [--comment TEXT] [-c FILE] [--data-dir DIR]
       dnsward allow --remove [DOMAIN] [--client CIDR] [--comment TEXT] [-c FILE] [--data-dir DIR]

An operator decision: queries for DOMAIN (its registered domain), from CIDR if
given, are allowed until the allow expires (default 24h; --for forever makes it
permanent until 'dnsward unblock' or the console removes it), and lift its block.
What is allowed teaches Tunnel Guard's learning as known-good. --remove takes
back the allow of exactly that DOMAIN and CIDR. ${COMMENT_HELP}`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        client: { type: 'string' },
        for: { type: 'string' },
        remove: { type: 'boolean' },
        ...COMMENT_OPTION,
        ...LOCATION_OPTIONS,
      },
      true,
    );
    if (positionals.length > 1) throw new UsageError('allow takes one DOMAIN');
    if (positionals.length === 0 && values.client === undefined)
      throw new UsageError('allow needs a DOMAIN, a --client CIDR, or both');
    if (values.remove) {
      if (values.for !== undefined) throw new UsageError('--remove takes no --for');
      const removed = (await talk('allow', locateDataDir(values), {
        cmd: 'disallow',
        domain: positionals[0],
        client: values.client as string | undefined,
        comment: values.comment as string | undefined,
      })) as { removed: number } | undefined;
      if (removed === undefined) return 1;
      console.log(
        `removed the allow of ${positionals[0] ?? 'every domain'}${values.client ? ` from ${values.client}` : ''}`,
      );
      return 0;
    }
    const reply = (await talk('allow', locateDataDir(values), {
      cmd: 'allow',
      domain: positionals[0],
      client: values.client as string | undefined,
      seconds: seconds(values.for as string | undefined, 86400, true),
      comment: values.comment as string | undefined,
    })) as { domain?: string; client?: string; until: number } | undefined;
    if (reply === undefined) return 1;
    console.log(
      `allowed ${reply.domain ?? 'every domain'}${reply.client ? ` from ${reply.client}` : ''} until ${untilText(reply.until)}`,
    );
    return 0;
  },
};

export const unblockCommand: Command = {
  name: 'unblock',
  locates: true,
  summary: "lift a Tunnel Guard domain block, or a client's dynamic block, now",
  help: `Usage: dnsward unblock DOMAIN [--comment TEXT] [-c FILE] [--data-dir DIR]
       dnsward unblock CLIENT [--comment TEXT] [-c FILE] [--data-dir DIR]

DOMAIN: lifts the blocks of DOMAIN's registered domain (for every client, and
those of single clients). Unlike allow, it does not stop Tunnel Guard from
blocking it again if the tunnel goes on.

CLIENT (an IP address or a CIDR range): lifts the dynamic blocks of the client
prefixes it overlaps (defence.dynamicBlocks) and forgets their recent traffic;
the rules block them again only if they pass a rate again. ${COMMENT_HELP}`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...COMMENT_OPTION, ...LOCATION_OPTIONS }, true);
    if (positionals.length !== 1) throw new UsageError('unblock takes one DOMAIN or CLIENT');
    const comment = values.comment as string | undefined;
    if (typeof parseCidr(positionals[0]) !== 'string') {
      const reply = (await talk('unblock', locateDataDir(values), {
        cmd: 'unblock-client',
        client: positionals[0],
        comment,
      })) as { client: string; lifted: string[] } | undefined;
      if (reply === undefined) return 1;
      console.log(`lifted the dynamic block of ${reply.lifted.join(', ')}`);
      return 0;
    }
    const reply = (await talk('unblock', locateDataDir(values), {
      cmd: 'unblock',
      domain: positionals[0],
      comment,
    })) as { domain: string } | undefined;
    if (reply === undefined) return 1;
    console.log(`unblocked ${reply.domain}`);
    return 0;
  },
};

export const quarantineCommand: Command = {
  name: 'quarantine',
  locates: true,
  summary: 'refuse (or sinkhole) every query of a client, for a while',
  help: `Usage: dnsward quarantine CLIENT [--for DURATION] [--comment TEXT] [-c FILE] [--data-dir DIR]
       dnsward quarantine --release CLIENT [--comment TEXT] [-c FILE] [--data-dir DIR]

CLIENT is an address or a CIDR. Its queries get guard.quarantineAnswer (REFUSED by
default) until the quarantine expires (default 1h). --release ends it now.
${COMMENT_HELP}`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { for: { type: 'string' }, release: { type: 'boolean' }, ...COMMENT_OPTION, ...LOCATION_OPTIONS },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('quarantine takes one CLIENT');
    const dataDir = locateDataDir(values);
    const comment = values.comment as string | undefined;
    if (values.release) {
      const reply = await talk('quarantine', dataDir, { cmd: 'release', client: positionals[0], comment });
      if (reply === undefined) return 1;
      console.log(`released ${positionals[0]}`);
      return 0;
    }
    const reply = (await talk('quarantine', dataDir, {
      cmd: 'quarantine',
      client: positionals[0],
      seconds: seconds(values.for as string | undefined, 3600),
      comment,
    })) as { client: string; until: number; incident: string } | undefined;
    if (reply === undefined) return 1;
    console.log(`quarantined ${reply.client} until ${iso(reply.until)} (incident ${reply.incident})`);
    return 0;
  },
};
