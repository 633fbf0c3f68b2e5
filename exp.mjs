import { pino } from 'pino';
import { parseConfigText, validateConfig } from '/work/main/dist/src/config/load-config.js';
import { DnswardServer } from '/work/main/dist/src/server/dnsward-server.js';
const cfg = validateConfig(parseConfigText(process.env.CFG, 'x'), 'x');
const s = new DnswardServer(cfg, pino({level:'silent'}));
await s.start();
setTimeout(() => process.exit(0), Number(process.env.SECS ?? 7) * 1000);
