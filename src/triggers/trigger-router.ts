import type { Trigger } from './trigger.js';
import type { ChatMessage } from '../monitor/chat-message.js';
import type { GiftEvent } from '../monitor/live-connection.js';
import type { HypeSensitivity } from '../store/settings-schema.js';
import { countGift, describeGifts, GiftTrigger } from './gift-trigger.js';
import { HypeDetector } from './hype-detector.js';
import { formatRate } from '../util/rate.js';

/** The settings a guild's triggers beyond keywords read (a GuildSettings fits). */
export interface TriggerPolicy {
  /** 0: gifts never clip. */
  readonly giftMinDiamonds: number;
  readonly hypeSensitivity: HypeSensitivity;
  readonly cooldownSeconds: number;
}

/** The chatter part of a hype clip's name: the moment belongs to the whole chat, not one viewer. */
export const HYPE_CHATTER = 'chat';

/**
 * Turns gift events and chat rates into triggers, per stream and per guild, on the same moment path
 * as keywords (`clips.trigger`). Chat rates are counted per stream once, whatever the number of guilds
 * watching it; thresholds and quiet periods are each guild's own.
 */
export class TriggerRouter {
  private readonly hype = new Map<string, HypeDetector>();
  /** `${guildId}\n${streamer}` -> that guild's running gift sum on that stream. */
  private readonly gifts = new Map<string, GiftTrigger>();

  constructor(
    private readonly deps: {
      readonly policyFor: (guildId: string) => TriggerPolicy;
      readonly trigger: (trigger: Trigger) => void;
    },
  ) {}

  /** Every chat of every watched stream: O(1) and allocation-free unless hype fires. */
  chat(message: ChatMessage, guildIds: readonly string[]): void {
    const nowMs = message.receivedAt.getTime();
    let detector = this.hype.get(message.streamer);
    if (detector === undefined) {
      detector = new HypeDetector();
      this.hype.set(message.streamer, detector);
    }
    detector.record(nowMs);
    for (const guildId of guildIds) {
      const policy = this.deps.policyFor(guildId);
      if (policy.hypeSensitivity === 'off') continue;
      const reading = detector.check(guildId, policy.hypeSensitivity, nowMs, policy.cooldownSeconds * 1000);
      if (reading === undefined) continue;
      const detail =
        `Chat ran at ${formatRate(reading.recentPerSecond)} msgs/s over the last 5 s, ` +
        `against a baseline of ${formatRate(reading.baselinePerSecond)} msgs/s (sensitivity ${policy.hypeSensitivity}).`;
      this.deps.trigger({
        guildId,
        streamer: message.streamer,
        chatter: HYPE_CHATTER,
        keyword: 'hype',
        message: detail,
        at: message.receivedAt,
        isManual: false,
        kind: 'hype',
        detail,
      });
    }
  }

  gift(event: GiftEvent, guildIds: readonly string[]): void {
    const counted = countGift(event);
    if (counted === undefined) return;
    for (const guildId of guildIds) {
      const { giftMinDiamonds } = this.deps.policyFor(guildId);
      if (giftMinDiamonds <= 0) continue;
      const key = `${guildId}\n${event.streamer}`;
      let trigger = this.gifts.get(key);
      if (trigger === undefined) {
        trigger = new GiftTrigger();
        this.gifts.set(key, trigger);
      }
      const moment = trigger.add(counted, giftMinDiamonds);
      if (moment === undefined) continue;
      const detail = describeGifts(moment);
      this.deps.trigger({
        guildId,
        streamer: event.streamer,
        chatter: moment.topSender,
        keyword: 'gift',
        message: detail,
        at: event.receivedAt,
        isManual: false,
        kind: 'gift',
        detail,
      });
    }
  }

  /** Chats a second over the last 5 s; undefined for a stream no chat was seen on. */
  chatRate(streamer: string, nowMs = Date.now()): number | undefined {
    return this.hype.get(streamer)?.recentRate(nowMs);
  }

  /** Drops a stream's counters (removed or stopped), so a later watch starts a fresh baseline. */
  forgetStream(streamer: string): void {
    this.hype.delete(streamer);
    for (const key of this.gifts.keys()) if (key.endsWith(`\n${streamer}`)) this.gifts.delete(key);
  }
}
