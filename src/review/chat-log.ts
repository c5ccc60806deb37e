import type { ChatMessage } from '../monitor/chat-message.js';
import type { GiftEvent } from '../monitor/live-connection.js';
import { REVIEW_DEFAULTS } from './defaults.js';

/** One line of a live's recent chat: a message, or a gift (a streak at its end). */
export interface ChatLogEntry {
  readonly atMs: number;
  readonly kind: 'chat' | 'gift';
  /** The chatter's or sender's @handle. */
  readonly who: string;
  /** The message, or the gift in words ("Rose x5 (5 💎)"). */
  readonly text: string;
}

/** Entries of one live, oldest first; a head index so dropping the oldest costs nothing per chat. */
class LiveLog {
  entries: ChatLogEntry[] = [];
  head = 0;

  push(entry: ChatLogEntry, maxEntries: number, oldestMs: number): void {
    this.entries.push(entry);
    while (this.head < this.entries.length && (this.entries.length - this.head > maxEntries || this.entries[this.head]!.atMs < oldestMs)) {
      this.head += 1;
    }
    // Compact once the dropped part is as large as the kept one: amortized O(1) per entry.
    if (this.head > 64 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  between(fromMs: number, toMs: number): ChatLogEntry[] {
    const out: ChatLogEntry[] = [];
    for (let i = this.head; i < this.entries.length; i += 1) {
      const entry = this.entries[i]!;
      if (entry.atMs >= fromMs && entry.atMs <= toMs) out.push(entry);
    }
    return out;
  }
}

/**
 * Each watched live's recent chats and gifts, bounded by age and count per live, so a clip's chat can be
 * written beside it (`.chat.srt`) and named on its alert. Chats arrive in the order the bot saw them.
 */
export class ChatLog {
  private readonly lives = new Map<string, LiveLog>();

  constructor(private readonly limits: { readonly maxAgeMs: number; readonly maxEntries: number } = REVIEW_DEFAULTS.chatLog) {}

  chat(message: ChatMessage): void {
    this.add(message.streamer, { atMs: message.receivedAt.getTime(), kind: 'chat', who: message.chatter, text: message.text });
  }

  /** A gift counts once it is final: a streak at its end, at its total. */
  gift(gift: GiftEvent): void {
    if (!gift.isFinal) return;
    const count = gift.repeatCount > 1 ? ` x${gift.repeatCount}` : '';
    const text = `sent ${gift.giftName}${count} (${gift.diamondCount * gift.repeatCount} 💎)`;
    this.add(gift.streamer, { atMs: gift.receivedAt.getTime(), kind: 'gift', who: gift.sender, text });
  }

  /** The live's entries within [fromMs, toMs], oldest first. */
  between(streamer: string, fromMs: number, toMs: number): ChatLogEntry[] {
    return this.lives.get(streamer)?.between(fromMs, toMs) ?? [];
  }

  forget(streamer: string): void {
    this.lives.delete(streamer);
  }

  private add(streamer: string, entry: ChatLogEntry): void {
    let live = this.lives.get(streamer);
    if (!live) {
      live = new LiveLog();
      this.lives.set(streamer, live);
    }
    live.push(entry, this.limits.maxEntries, entry.atMs - this.limits.maxAgeMs);
  }
}
