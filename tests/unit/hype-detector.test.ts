import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Trigger } from '../../src/triggers/trigger.js';
import type { ChatMessage } from '../../src/monitor/chat-message.js';
import type { HypeSensitivity } from '../../src/store/settings-schema.js';
import { ChatRateWindow } from '../../src/triggers/chat-rate-window.js';
import { TriggerRouter, type TriggerPolicy } from '../../src/triggers/trigger-router.js';

const GUILD = 'g1';

function rig(sensitivity: HypeSensitivity, cooldownSeconds = 30) {
  const fired: Trigger[] = [];
  const policy: TriggerPolicy = { giftMinDiamonds: 0, hypeSensitivity: sensitivity, cooldownSeconds };
  const router = new TriggerRouter({ policyFor: () => policy, trigger: (t) => fired.push(t) });
  let n = 0;
  const chat = (streamer: string, guildIds = [GUILD]) => {
    const message: ChatMessage = {
      id: String((n += 1)),
      streamer,
      chatter: `viewer${n}`,
      chatterName: 'viewer',
      text: 'hello',
      receivedAt: new Date(),
    };
    router.chat(message, guildIds);
  };
  /** `perSecond` chats every second, spread evenly, on each stream, for `seconds`. */
  const run = (streams: Record<string, number>, seconds: number) => {
    const ticks = 20;
    for (let s = 0; s < seconds; s += 1) {
      for (let t = 0; t < ticks; t += 1) {
        for (const [streamer, perSecond] of Object.entries(streams)) {
          const due = Math.floor(((t + 1) * perSecond) / ticks) - Math.floor((t * perSecond) / ticks);
          for (let i = 0; i < due; i += 1) chat(streamer);
        }
        vi.advanceTimersByTime(1000 / ticks);
      }
    }
  };
  return { fired, router, run, chat };
}

describe('hype trigger', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T12:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('fires once at medium when a steady 2 msgs/s stream jumps to 40 msgs/s for 5 s', () => {
    const { fired, run } = rig('medium');
    run({ alice: 2 }, 60);
    expect(fired).toHaveLength(0);
    run({ alice: 40 }, 5);
    run({ alice: 2 }, 20);
    expect(fired).toHaveLength(1);
    const [hype] = fired;
    expect(hype).toMatchObject({ guildId: GUILD, streamer: 'alice', chatter: 'chat', keyword: 'hype', kind: 'hype', isManual: false });
    expect(hype!.detail).toMatch(/msgs\/s over the last 5 s, against a baseline of 2\.0 msgs\/s/);
  });

  it('never fires on a stream that has always run at a steady 40 msgs/s', () => {
    const { fired, run } = rig('high');
    run({ busy: 40 }, 120);
    expect(fired).toHaveLength(0);
  });

  it('fires only for the stream whose chat spiked', () => {
    const { fired, run } = rig('medium');
    run({ alice: 2, bob: 2 }, 40);
    run({ alice: 40, bob: 2 }, 5);
    expect(fired.map((t) => t.streamer)).toEqual(['alice']);
  });

  it('does not fire before the stream has 30 s of chat history', () => {
    const { fired, run } = rig('high');
    run({ fresh: 2 }, 10);
    run({ fresh: 40 }, 5);
    expect(fired).toHaveLength(0);
  });

  it("ignores a quiet stream's handful of messages", () => {
    const { fired, run } = rig('low');
    run({ quiet: 0.2 }, 60);
    run({ quiet: 3 }, 5);
    expect(fired).toHaveLength(0);
  });

  it('stays quiet for the cooldown, then can fire on the next spike', () => {
    const { fired, run } = rig('medium', 30);
    run({ alice: 2 }, 40);
    run({ alice: 40 }, 5);
    run({ alice: 2 }, 10);
    run({ alice: 40 }, 5);
    expect(fired).toHaveLength(1);
    run({ alice: 2 }, 60);
    run({ alice: 40 }, 5);
    expect(fired).toHaveLength(2);
  });

  it('does nothing when hype is off', () => {
    const { fired, run } = rig('off');
    run({ alice: 2 }, 40);
    run({ alice: 40 }, 5);
    expect(fired).toHaveLength(0);
  });

  it('reports the current chat rate per stream for /status', () => {
    const { router, run } = rig('off');
    run({ alice: 10 }, 10);
    expect(router.chatRate('alice')).toBeCloseTo(10, 0);
    expect(router.chatRate('nobody')).toBeUndefined();
    vi.advanceTimersByTime(120_000);
    expect(router.chatRate('alice')).toBe(0);
  });
});

describe('chat rate window', () => {
  it('moves chats from the recent window into the baseline as seconds pass, and forgets them after 60 s', () => {
    const window = new ChatRateWindow();
    const t0 = 1_000_000_000_000;
    for (let i = 0; i < 50; i += 1) window.record(t0 + Math.floor(i / 10) * 1000);
    expect(window.recentRate(t0 + 5_000)).toBe(10);
    expect(window.baselineRate(t0 + 10_000)).toBeGreaterThan(0);
    expect(window.recentRate(t0 + 10_000)).toBe(0);
    expect(window.baselineRate(t0 + 63_000)).toBeGreaterThan(0);
    expect(window.baselineRate(t0 + 64_000)).toBe(0);
  });
});
