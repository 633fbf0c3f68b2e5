/**
 * Words for generated benign names: common hostname labels, and English words for site names.
 * Site names are also built from syllables, so the set is large and not a fixed list a model
 * could memorise.
 */
import type { Random } from './random.js';

export const HOST_LABELS = [
  'www', 'mail', 'api', 'cdn', 'static', 'img', 'images', 'm', 'login', 'accounts', 'auth', 'app', 'apps', 'assets', 'media',
  'video', 'news', 'shop', 'store', 'blog', 'docs', 'support', 'help', 'portal', 'secure', 'smtp', 'imap', 'pop', 'mx', 'ns1',
  'ns2', 'vpn', 'remote', 'owa', 'autodiscover', 'lyncdiscover', 'sip', 'time', 'ntp', 'update', 'updates', 'download', 'dl',
  'files', 'drive', 'photos', 'play', 'music', 'maps', 'search', 'ads', 'ad', 'stats', 'analytics', 'metrics', 'telemetry',
  'events', 'collector', 'beacon', 'pixel', 'tag', 'tags', 'sync', 'push', 'notify', 'chat', 'ws', 'wss', 'edge', 'gateway',
  'graph', 'config', 'settings', 'status', 'health', 'clients', 'client', 'web', 'mobile', 'prod', 'dev', 'staging', 'beta',
  'us', 'eu', 'uk', 'de', 'fr', 'jp', 'east', 'west', 'north', 'south', 'central', 'global', 'geo', 'static1', 'static2', 'img1',
  'img2', 's', 'i', 'a', 'b', 'c', 'e', 't', 'v', 'go', 'my', 'id', 'sso', 'oauth', 'account', 'pay', 'checkout', 'cart',
];

export const WORDS = [
  'apple', 'river', 'stone', 'cloud', 'green', 'light', 'house', 'water', 'music', 'world', 'north', 'power', 'smart', 'bright',
  'travel', 'health', 'market', 'money', 'family', 'garden', 'energy', 'future', 'global', 'digital', 'social', 'simple',
  'happy', 'little', 'golden', 'silver', 'ocean', 'mountain', 'forest', 'sun', 'moon', 'star', 'fire', 'wind', 'rain', 'snow',
  'blue', 'red', 'black', 'white', 'fast', 'best', 'top', 'first', 'new', 'open', 'free', 'good', 'great', 'big', 'city',
  'town', 'home', 'life', 'love', 'time', 'day', 'night', 'book', 'books', 'news', 'daily', 'press', 'media', 'games', 'game',
  'play', 'sport', 'sports', 'team', 'club', 'school', 'college', 'learn', 'study', 'bank', 'credit', 'trade', 'shop', 'store',
  'food', 'fresh', 'kitchen', 'coffee', 'wine', 'beer', 'pizza', 'car', 'cars', 'auto', 'motor', 'parts', 'tech', 'data',
  'soft', 'code', 'dev', 'net', 'web', 'link', 'hub', 'lab', 'labs', 'works', 'group', 'systems', 'solutions', 'services',
  'network', 'cloud', 'host', 'hosting', 'server', 'online', 'direct', 'express', 'prime', 'royal', 'united', 'national',
  'local', 'public', 'central', 'insurance', 'energy', 'medical', 'care', 'dental', 'law', 'legal', 'estate', 'property',
  'travel', 'hotel', 'hotels', 'tour', 'flight', 'air', 'sky', 'sea', 'lake', 'park', 'field', 'farm', 'wood', 'steel',
  'gold', 'diamond', 'crystal', 'pixel', 'photo', 'studio', 'design', 'art', 'craft', 'fashion', 'style', 'beauty', 'pet',
  'dog', 'cat', 'baby', 'kids', 'toy', 'toys', 'gift', 'gifts', 'deal', 'deals', 'sale', 'price', 'save', 'club', 'point',
];

const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'br', 'cr', 'st', 'tr', 'pl', 'sh', 'ch', 'gr', 'fl'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'o', 'ai', 'ea', 'ou', 'y'];
const CODAS = ['', '', '', 'n', 'r', 's', 'l', 'x', 'm', 't', 'ck', 'ng'];

/** A pronounceable made-up word of 2–3 syllables (brand names: "zumora", "plinkex"). */
export function pseudoWord(rng: Random): string {
  let w = '';
  const syllables = rng.int(2, 3);
  for (let i = 0; i < syllables; i++) w += rng.pick(ONSETS) + rng.pick(VOWELS) + (i === syllables - 1 ? rng.pick(CODAS) : '');
  return w;
}

/** A site name: a word, two words, a made-up word, or one with a digit or hyphen. */
export function siteName(rng: Random): string {
  const r = rng.next();
  if (r < 0.3) return rng.pick(WORDS) + rng.pick(WORDS);
  if (r < 0.55) return pseudoWord(rng);
  if (r < 0.7) return rng.pick(WORDS);
  if (r < 0.8) return `${rng.pick(WORDS)}-${rng.pick(WORDS)}`;
  if (r < 0.9) return rng.pick(WORDS) + rng.int(1, 99);
  return pseudoWord(rng) + rng.pick(WORDS);
}

export const TLDS = ['com', 'com', 'com', 'com', 'net', 'org', 'io', 'de', 'co.uk', 'fr', 'nl', 'ru', 'com.br', 'jp', 'it', 'es', 'info', 'co', 'app', 'dev', 'ca', 'com.au', 'pl', 'in'];
