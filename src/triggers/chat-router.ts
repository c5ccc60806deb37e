import type { ChatMessage } from '../monitor/chat-message.js';
import type { KeywordMatcher } from './keyword-matcher.js';
import type { Trigger } from './trigger.js';

/**
 * The hot path: every chat of every watched LIVE comes through here. One matcher pass per guild
 * watching the stream (the matcher is prebuilt per guild); a hit becomes a trigger.
 */
export class ChatRouter {
  constructor(
    private readonly deps: {
      readonly matcherFor: (guildId: string) => KeywordMatcher | undefined;
      readonly trigger: (trigger: Trigger) => void;
    },
  ) {}

  handle(message: ChatMessage, guildIds: readonly string[]): void {
    for (const guildId of guildIds) {
      const hit = this.deps.matcherFor(guildId)?.match(message.text)[0];
      if (!hit) continue;
      this.deps.trigger({
        guildId,
        streamer: message.streamer,
        chatter: message.chatter,
        keyword: hit.keyword.word,
        message: message.text,
        at: message.receivedAt,
        isManual: false,
      });
    }
  }
}
