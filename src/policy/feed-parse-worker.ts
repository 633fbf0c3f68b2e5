/** Parses feeds off the event loop: the feed's bytes in, a rule table out, both moved as transferable buffers. */
import { parentPort } from 'node:worker_threads';
import { type FeedFormat, parseFeed } from './feed-parse.js';
import { ruleSetBuffers } from './rule-set.js';

parentPort!.on('message', (m: { id: number; content: Uint8Array; format: FeedFormat; zone?: string }) => {
  try {
    const parsed = parseFeed(m.content, m.format, m.zone);
    parentPort!.postMessage({ id: m.id, parsed }, ruleSetBuffers(parsed.table));
  } catch (error) {
    parentPort!.postMessage({ id: m.id, error: (error as Error).message });
  }
});
