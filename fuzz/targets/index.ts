/** Every fuzz target, by name (also its corpus directory). */
import { config } from './config.js';
import { dnsMessage } from './dns-message.js';
import { feedAdblock, feedDomains, feedHosts, feedRpz } from './feeds.js';
import { pcap } from './pcap.js';
import { queryParser } from './query-parser.js';
import { responseScanner } from './response-scanner.js';
import type { FuzzTarget } from './target.js';

export const targets: readonly FuzzTarget[] = [
  queryParser,
  responseScanner,
  dnsMessage,
  feedRpz,
  feedHosts,
  feedDomains,
  feedAdblock,
  config,
  pcap,
];
