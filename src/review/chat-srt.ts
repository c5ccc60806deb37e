import { cleanText, truncate } from '../util/text.js';
import type { ChatLogEntry } from './chat-log.js';
import { REVIEW_DEFAULTS } from './defaults.js';

/** `{clip name}.chat.srt` beside `clipPath` (`alice_wow_….mp4` -> `alice_wow_….chat.srt`). */
export function srtPathFor(clipPath: string): string {
  return `${clipPath.replace(/\.mp4$/i, '')}.chat.srt`;
}

/**
 * The chats and gifts of a clip as SubRip subtitles, each a cue at its time within the clip: `startMs` is
 * the wall-clock time of the clip's first frame, `durationMs` its length. A cue stays on screen for
 * REVIEW_DEFAULTS.srt.cueMs or until the clip ends. Text is cleaned (controls and bidi overrides go, line
 * breaks become spaces) so a chat cannot break the cue format.
 */
export function chatSrt(entries: readonly ChatLogEntry[], startMs: number, durationMs: number): string {
  const cues: string[] = [];
  for (const entry of entries) {
    const from = entry.atMs - startMs;
    if (from < 0 || from > durationMs) continue;
    const to = Math.min(durationMs, from + REVIEW_DEFAULTS.srt.cueMs);
    cues.push(`${cues.length + 1}\n${srtTime(from)} --> ${srtTime(Math.max(to, from + 1))}\n${cueText(entry)}\n`);
  }
  return cues.join('\n');
}

/** One chat as a line: `@alice: that was wow`, a gift as `🎁 @bob sent Rose x5 (5 💎)`. */
export function chatLine(entry: ChatLogEntry, maxChars: number): string {
  const who = cleanText(entry.who);
  const text = cleanText(entry.text).replace(/\s+/g, ' ').trim();
  return truncate(entry.kind === 'gift' ? `🎁 @${who} ${text}` : `@${who}: ${text}`, maxChars);
}

function cueText(entry: ChatLogEntry): string {
  // "-->" on a text line could be read as a timing line by lenient players.
  return chatLine(entry, REVIEW_DEFAULTS.srt.cueChars).replaceAll('-->', '->');
}

/** SubRip time: `hh:mm:ss,mmm`. */
export function srtTime(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = Math.floor((total % 60_000) / 1000);
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)},${pad(total % 1000, 3)}`;
}
