/**
 * Compilation: normalizes a keyword list once and builds its Aho-Corasick automaton, a full DFA over a
 * compressed alphabet when it fits in `maxTableEntries`, goto edges + failure links otherwise.
 */
import { AhoCorasickMatcher, type Entry } from './aho-corasick-matcher.js';
import { normalizeText } from './normalize.js';
import type { CompileOptions, Keyword, KeywordMatcher } from './types.js';
import { firstCodePoint, isWordCodePoint, lastCodePoint } from './word-boundary.js';
import { TRIGGER_DEFAULTS } from '../defaults.js';

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Builds the matcher once for a keyword list. Keywords that normalize to the same text with the same
 * mode count once (the first wins); keywords that normalize to nothing or contain lone surrogates never
 * fire (`validateKeyword` rejects both).
 *
 * Word mode means the match must not extend a word: if the keyword starts with a word character, the
 * character before it must not be one; likewise at the end. A keyword that starts and ends with
 * non-word characters (🔥, `!!`) therefore behaves as in contains mode, and `🔥fire` in word mode fires
 * on "wow🔥fire!" but not on "🔥fireworks".
 */
export function compileMatcher(
  keywords: readonly Keyword[],
  options: CompileOptions = {},
): KeywordMatcher {
  const maxTableEntries = options.maxTableEntries ?? TRIGGER_DEFAULTS.keywords.maxTableEntries;

  const entries: Entry[] = [];
  const words: string[] = [];
  const seen = new Set<string>();
  keywords.forEach((keyword, order) => {
    const word = normalizeText(keyword.word);
    if (word.length === 0 || LONE_SURROGATE.test(word)) return;
    const key = `${keyword.mode}\u0000${word}`;
    if (seen.has(key)) return;
    seen.add(key);
    const isWord = keyword.mode === 'word';
    entries.push({
      keyword,
      order,
      length: word.length,
      checkStart: isWord && isWordCodePoint(firstCodePoint(word)),
      checkEnd: isWord && isWordCodePoint(lastCodePoint(word)),
    });
    words.push(word);
  });

  // Alphabet compression: class 0 for every code unit no keyword uses.
  const classOf = new Uint16Array(0x10000);
  let alphabetSize = 1;
  for (const word of words) {
    for (let i = 0; i < word.length; i++) {
      const unit = word.charCodeAt(i);
      if (classOf[unit] === 0) classOf[unit] = alphabetSize++;
    }
  }
  if (alphabetSize > 0xfffe) {
    // Would need keywords using nearly every UTF-16 code unit; classes must stay below the sentinels.
    throw new RangeError('keyword alphabet too large');
  }

  // Trie with sparse edges keyed by state * alphabetSize + class.
  const edges = new Map<number, number>();
  const ownOutputs: number[][] = [[]];
  let stateCount = 1;
  words.forEach((word, id) => {
    let state = 0;
    for (let i = 0; i < word.length; i++) {
      const key = state * alphabetSize + classOf[word.charCodeAt(i)]!;
      let next = edges.get(key);
      if (next === undefined) {
        next = stateCount++;
        edges.set(key, next);
        ownOutputs.push([]);
      }
      state = next;
    }
    ownOutputs[state]!.push(id);
  });

  // Children lists for the breadth-first pass.
  const children: Array<Array<[number, number]>> = Array.from({ length: stateCount }, () => []);
  for (const [key, child] of edges) {
    const parent = Math.floor(key / alphabetSize);
    children[parent]!.push([key - parent * alphabetSize, child]);
  }

  const isDense = stateCount * alphabetSize <= maxTableEntries;
  const delta = isDense ? new Int32Array(stateCount * alphabetSize) : undefined;
  const fail = new Int32Array(stateCount);
  const outLink = new Int32Array(stateCount).fill(-1);

  const sparseStep = (from: number, cls: number): number => {
    let state = from;
    for (;;) {
      const next = edges.get(state * alphabetSize + cls);
      if (next !== undefined) return next;
      if (state === 0) return 0;
      state = fail[state]!;
    }
  };

  const queue: number[] = [0];
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    if (delta !== undefined && state !== 0) {
      // Row starts as the failure state's row; children overwrite below.
      const failRow = fail[state]! * alphabetSize;
      delta.copyWithin(state * alphabetSize, failRow, failRow + alphabetSize);
    }
    for (const [cls, child] of children[state]!) {
      if (state === 0) {
        fail[child] = 0;
      } else if (delta !== undefined) {
        fail[child] = delta[fail[state]! * alphabetSize + cls]!;
      } else {
        fail[child] = sparseStep(fail[state]!, cls);
      }
      if (delta !== undefined) delta[state * alphabetSize + cls] = child;
      const f = fail[child];
      outLink[child] = ownOutputs[f]!.length > 0 ? f : outLink[f]!;
      queue.push(child);
    }
  }

  // Outputs in CSR form.
  const outputStart = new Int32Array(stateCount + 1);
  const outputIds = new Int32Array(entries.length);
  const isTerminal = new Uint8Array(stateCount);
  let cursor = 0;
  for (let state = 0; state < stateCount; state++) {
    outputStart[state] = cursor;
    for (const id of ownOutputs[state]!) outputIds[cursor++] = id;
    isTerminal[state] = ownOutputs[state]!.length > 0 || outLink[state] !== -1 ? 1 : 0;
  }
  outputStart[stateCount] = cursor;

  // The hot loop works on "rows" (state * alphabetSize, saving a multiply per character) and a
  // transition value is the next row, bitwise-negated (so negative) when the next state reports hits.
  const encode = (state: number): number =>
    isTerminal[state] === 1 ? ~(state * alphabetSize) : state * alphabetSize;
  let rows: Int32Array | undefined;
  if (delta !== undefined) {
    rows = new Int32Array(delta.length);
    for (let i = 0; i < delta.length; i++) rows[i] = encode(delta[i]!);
  }
  const sparseRowStep = (row: number, cls: number): number =>
    encode(sparseStep(row / alphabetSize, cls));

  return new AhoCorasickMatcher({
    entries,
    classOf,
    alphabetSize,
    rows,
    sparseRowStep,
    outLink,
    outputStart,
    outputIds,
  });
}
