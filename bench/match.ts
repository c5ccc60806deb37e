/**
 * Keyword matching throughput: the compiled matcher against the old app's algorithm (lower-case the
 * message, then `includes` for every keyword), measured in the same run on the same messages.
 *
 * Run alone with `npx tsx bench/match.ts`; bench/run.ts imports `benchMatching`.
 */
import { pathToFileURL } from 'node:url';
import { compileMatcher, type Keyword } from '../src/triggers/keyword-matcher.js';

export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

const SETTINGS = {
  keywordCount: 1_000,
  messageCount: 2_000,
  messageLength: 100,
  /** Share of messages that contain some non-ASCII text. */
  unicodeShare: 0.25,
  measureMs: 1_000,
  /** Measured rounds after the warm-up run; the median is reported (the machine is shared and noisy). */
  rounds: 3,
  seed: 0x5eed,
} as const;

/** Small deterministic PRNG (mulberry32) so runs are comparable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHAT_WORDS = [
  'lol', 'omg', 'hi', 'hello', 'love', 'this', 'so', 'good', 'when', 'is', 'the', 'next', 'live',
  'you', 'are', 'amazing', 'haha', 'where', 'from', 'me', 'too', 'yes', 'no', 'what', 'song', 'name',
  'play', 'again', 'please', 'bro', 'queen', 'king', 'wow', 'nice', 'fr', 'lmao', 'gg', 'W', 'L',
  'Can', 'You', 'Say', 'HI', 'To', 'Me', 'first', 'time', 'here', 'tiktok', 'gift', 'rose',
];
const UNICODE_PIECES = [
  '😂', '🔥', '❤️', '💀', '🥰', '😭', '👍🏽', 'café', 'niño', 'Grüße', 'привет', 'Спасибо', '日本語',
  'こんにちは', 'ＷＯＷ', 'مرحبا', '안녕', 'ΓΕΙΑ', 'straße', '¿qué?', 'don’t',
];
const LETTERS = [...'abcdefghijklmnopqrstuvwxyz'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function makeKeywords(random: () => number): Keyword[] {
  // A few real chat words so that some messages hit; the rest are random and almost never do.
  const keywords: Keyword[] = [
    { word: 'amazing', mode: 'word' },
    { word: 'Queen', mode: 'word' },
    { word: '🔥', mode: 'contains' },
  ];
  while (keywords.length < SETTINGS.keywordCount) {
    const mode = random() < 0.5 ? 'word' : 'contains';
    const r = random();
    let word = '';
    if (r < 0.9) {
      const length = 4 + Math.floor(random() * 7);
      for (let j = 0; j < length; j++) word += pick(random, LETTERS);
    } else if (r < 0.95) {
      const length = 3 + Math.floor(random() * 4);
      for (let j = 0; j < length; j++) word += String.fromCharCode(0x430 + Math.floor(random() * 32));
    } else {
      word = pick(random, ['🎉🎉', '💯', '🤡', 'ñoño', 'über', '東京', 'ありがとう', '🙏🏽']) + keywords.length;
    }
    keywords.push({ word, mode });
  }
  return keywords;
}

function makeMessages(random: () => number): string[] {
  const messages: string[] = [];
  for (let i = 0; i < SETTINGS.messageCount; i++) {
    const hasUnicode = random() < SETTINGS.unicodeShare;
    let text = '';
    while (text.length < SETTINGS.messageLength) {
      const piece = hasUnicode && random() < 0.2 ? pick(random, UNICODE_PIECES) : pick(random, CHAT_WORDS);
      text += (text.length === 0 ? '' : ' ') + piece;
    }
    messages.push(text.slice(0, SETTINGS.messageLength));
  }
  return messages;
}

/** Runs `work` over all messages repeatedly for about `ms`; returns messages per second. */
function measure(messages: readonly string[], ms: number, work: (text: string) => number): { rate: number; sink: number } {
  let sink = 0;
  let count = 0;
  const started = performance.now();
  let elapsed: number;
  do {
    for (const text of messages) sink += work(text);
    count += messages.length;
    elapsed = performance.now() - started;
  } while (elapsed < ms);
  return { rate: (count / elapsed) * 1000, sink };
}

/** The round with the median rate (its sink is checked like any other). */
function median(results: ReadonlyArray<{ rate: number; sink: number }>): { rate: number; sink: number } {
  const sorted = [...results].sort((a, b) => a.rate - b.rate);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The benchmark's keywords and messages (deterministic). */
export function matchBenchData(): { keywords: Keyword[]; messages: string[] } {
  const random = prng(SETTINGS.seed);
  const keywords = makeKeywords(random);
  return { keywords, messages: makeMessages(random) };
}

export async function benchMatching(): Promise<BenchResult[]> {
  const { keywords, messages } = matchBenchData();

  const matcher = compileMatcher(keywords);
  const fast = (text: string): number => matcher.match(text).length;

  // The old app's engine: keywords lower-cased once, every message lower-cased, one scan per keyword.
  const oldKeywords = keywords.map((k) => k.word.toLowerCase());
  const old = (text: string): number => {
    const lower = text.toLowerCase();
    let hits = 0;
    for (const keyword of oldKeywords) if (lower.includes(keyword)) hits++;
    return hits;
  };

  // A warm-up run first, as long as a measured one and thrown away: the first run in a process reads
  // about half of later ones (0.6-0.9 M against 1.6 M msgs/s here) while V8 is still optimizing the
  // matcher, and a short warm-up was not enough for that. Then the median of a few rounds.
  measure(messages, SETTINGS.measureMs, fast);
  measure(messages, SETTINGS.measureMs, old);
  const fastResult = median(Array.from({ length: SETTINGS.rounds }, () => measure(messages, SETTINGS.measureMs, fast)));
  const oldResult = median(Array.from({ length: SETTINGS.rounds }, () => measure(messages, SETTINGS.measureMs, old)));
  // Yield once so a caller's timers and logs are not starved between benchmarks.
  await new Promise((resolve) => setImmediate(resolve));

  if (fastResult.sink === 0) throw new Error('benchmark messages produced no hits; the data set is wrong');

  return [
    { name: 'match_throughput', value: Math.round(fastResult.rate), unit: 'msgs/s' },
    { name: 'match_baseline_throughput', value: Math.round(oldResult.rate), unit: 'msgs/s' },
    { name: 'match_speedup', value: Math.round((fastResult.rate / oldResult.rate) * 10) / 10, unit: 'x' },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  void benchMatching()
    .then((results) => {
      for (const { name, value, unit } of results) console.log(`${name}: ${value} ${unit}`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
