import type { ChatMessage } from '../monitor/chat-message.js';
import type { GiftEvent } from '../monitor/live-connection.js';
import { ChatRouter } from './chat-router.js';
import type { KeywordMatcher } from './keyword-matcher.js';
import type { Trigger } from './trigger.js';
import { TriggerRouter, type TriggerPolicy } from './trigger-router.js';

/** The triggers stage as the monitor's listener sees it: chats and gifts in, triggers out. */
export interface Triggers {
  chat(message: ChatMessage, guildIds: readonly string[]): void;
  gift(gift: GiftEvent, guildIds: readonly string[]): void;
  /** Chats a second in the stream's last few seconds (for /status). */
  chatRate(streamer: string): number | undefined;
  /** A stream no longer watched starts a fresh chat baseline if it is watched again. */
  forgetStream(streamer: string): void;
}

/** Keywords (the chat router), big gifts and hype (the trigger router): each that fires becomes a Trigger. */
export function createTriggers(deps: {
  readonly matcherFor: (guildId: string) => KeywordMatcher | undefined;
  readonly policyFor: (guildId: string) => TriggerPolicy;
  /** Where every trigger goes: the moment (ClipService.trigger). */
  readonly trigger: (trigger: Trigger) => void;
}): Triggers {
  const keywords = new ChatRouter({ matcherFor: deps.matcherFor, trigger: deps.trigger });
  const giftsAndHype = new TriggerRouter({ policyFor: deps.policyFor, trigger: deps.trigger });
  return {
    chat(message, guildIds) {
      keywords.handle(message, guildIds);
      giftsAndHype.chat(message, guildIds);
    },
    gift: (gift, guildIds) => giftsAndHype.gift(gift, guildIds),
    chatRate: (streamer) => giftsAndHype.chatRate(streamer),
    forgetStream: (streamer) => giftsAndHype.forgetStream(streamer),
  };
}
