import { describe, expect, it } from 'vitest';
import { ChatLog } from '../../src/review/chat-log.js';
import { chatSrt, srtPathFor, srtTime } from '../../src/review/chat-srt.js';
import { parseReviewCustomId, reviewCustomId } from '../../src/review/review-card.js';

const chat = (streamer: string, atMs: number, text: string, chatter = 'fan') => ({
  id: String(atMs),
  streamer,
  chatter,
  chatterName: chatter,
  text,
  receivedAt: new Date(atMs),
});

describe('the chat kept per live', () => {
  it('keeps at most maxEntries per live and nothing older than maxAgeMs', () => {
    const log = new ChatLog({ maxAgeMs: 10_000, maxEntries: 100 });
    for (let i = 0; i < 1_000; i += 1) log.chat(chat('busy', i * 5, `m${i}`));
    const kept = log.between('busy', 0, Number.MAX_SAFE_INTEGER);
    expect(kept).toHaveLength(100);
    expect(kept.at(-1)!.text).toBe('m999');
    log.chat(chat('busy', 30_000, 'late'));
    expect(log.between('busy', 0, Number.MAX_SAFE_INTEGER).map((e) => e.text)).toEqual(['late']);
    // Another live is its own.
    log.chat(chat('quiet', 1, 'hi'));
    expect(log.between('quiet', 0, 10)).toHaveLength(1);
  });

  it('counts a gift streak once, at its end', () => {
    const log = new ChatLog();
    const gift = { streamer: 's', sender: 'g', senderName: 'g', giftName: 'Rose', diamondCount: 1, receivedAt: new Date(5) };
    log.gift({ ...gift, repeatCount: 3, isFinal: false });
    log.gift({ ...gift, repeatCount: 5, isFinal: true });
    expect(log.between('s', 0, 10).map((e) => e.text)).toEqual(['sent Rose x5 (5 💎)']);
  });
});

describe('the chat as subtitles', () => {
  it('times each cue within the clip, drops chats outside it, and cleans the text', () => {
    const entries = [
      { atMs: 900, kind: 'chat' as const, who: 'early', text: 'before the clip' },
      { atMs: 1_500, kind: 'chat' as const, who: 'a', text: 'hi\u202e there\n-->' },
      { atMs: 9_000, kind: 'gift' as const, who: 'b', text: 'sent Lion (29999 💎)' },
    ];
    expect(chatSrt(entries, 1_000, 10_000)).toBe(
      '1\n00:00:00,500 --> 00:00:03,500\n@a: hi there ->\n\n2\n00:00:08,000 --> 00:00:10,000\n🎁 @b sent Lion (29999 💎)\n',
    );
    expect(srtTime(3_723_004)).toBe('01:02:03,004');
    expect(srtPathFor('/c/alice/bob_wow_x.mp4')).toBe('/c/alice/bob_wow_x.chat.srt');
  });

  it('round-trips a button custom_id and ignores others', () => {
    const id = reviewCustomId('false-positive', 'abc-123');
    expect(id.length).toBeLessThanOrEqual(100);
    expect(parseReviewCustomId(id)).toEqual({ action: 'false-positive', clipId: 'abc-123' });
    expect(parseReviewCustomId('review:delete:abc')).toBeUndefined();
    expect(parseReviewCustomId('other:keep:abc')).toBeUndefined();
  });
});
