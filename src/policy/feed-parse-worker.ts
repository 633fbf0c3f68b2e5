/** Parses feeds off the event loop: text in, a rule table out as transferable buffers. */
import { parentPort } from 'node:worker_threads';
import { type FeedFormat, parseFeedText } from './feed-parse.js';
import { ruleSetBuffers } from './rule-set.js';

parentPort!.on('message', (m: { id: number; text: string; format: FeedFormat; zone?: string }) => {
  try {
    const parsed = parseFeedText(m.text, m.format, m.zone);
    parentPort!.postMessage({ id: m.id, parsed }, ruleSetBuffers(parsed.table));
  } catch (error) {
    parentPort!.postMessage({ id: m.id, error: (error as Error).message });
  }
});
