import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/commands/index.js';
import { startWithStandInObs, type Harness } from '../support/bot-harness.js';
import type { PostedMessage } from '../fakes/discord-server.js';

/**
 * Hostile text in every string option of every command, through the local Discord: whatever the bot
 * answers (a confirmation, a list, "… is not a valid …", a clip), no reply carries a C0 control
 * character or a bidi override/isolate. Right-to-left letters are kept.
 */
const HOSTILE = 'a\u0000b\u202ec\u2067d\u0007e مرحبا';
const CLEANED = 'abcde مرحبا';
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/;

interface OptionJson {
  type: number;
  name: string;
  required?: boolean;
  choices?: { value: string | number }[];
  min_value?: number;
  options?: OptionJson[];
}

const SUBCOMMAND = 1;
const GROUP = 2;
const STRING = 3;

/** Every string reachable in a reply: its content and every string in its embeds. */
function textsOf(message: PostedMessage): string[] {
  const texts: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') texts.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk([message.content, message.embeds]);
  return texts;
}

describe('hostile text in every command option', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startWithStandInObs({ liveStreams: ['hostile.user'], keywords: ['clip it'], cooldownSeconds: 0 });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  /** One interaction per string option: that option hostile, the others valid, so no check hides another. */
  function hostileInputs(): Array<{ label: string; input: Parameters<Harness['command']>[0] }> {
    const inputs: Array<{ label: string; input: Parameters<Harness['command']>[0] }> = [];
    const valueFor = (option: OptionJson): string | number | boolean => {
      if (option.choices?.[0]) return option.choices[0].value;
      switch (option.type) {
        case STRING:
          return 'hostile.user';
        case 4:
        case 10:
          return Math.max(option.min_value ?? 1, 1);
        case 5:
          return false;
        case 7:
          return h.discord.channels.alerts;
        case 8:
          return h.discord.roles.moderator;
        default:
          throw new Error(`no test value for option type ${option.type}`);
      }
    };
    const leaf = (command: string, subcommand: string | undefined, options: readonly OptionJson[]) => {
      for (const target of options.filter((o) => o.type === STRING)) {
        const values: Record<string, string | number | boolean> = {};
        for (const option of options) {
          if (option === target) values[option.name] = HOSTILE;
          else if (option.required) values[option.name] = valueFor(option);
        }
        inputs.push({
          label: `/${command}${subcommand ? ` ${subcommand}` : ''} ${target.name}`,
          input: { command, ...(subcommand ? { subcommand } : {}), options: values },
        });
      }
    };
    for (const command of commands) {
      const json = command.data.toJSON() as { name: string; options?: OptionJson[] };
      const options = json.options ?? [];
      if (options.some((o) => o.type === SUBCOMMAND || o.type === GROUP)) {
        for (const sub of options) if (sub.type === SUBCOMMAND) leaf(json.name, sub.name, sub.options ?? []);
      } else {
        leaf(json.name, undefined, options);
      }
    }
    return inputs;
  }

  it('answers every string option of every command without echoing controls or bidi overrides', async () => {
    // Something hostile stored and logged too, so the lists (/logs, /clips, /status) have it to show.
    h.tiktok.sendChat('hostile.user', { handle: 'hostile.chatter', nickname: `nick${HOSTILE}`, text: `clip it ${HOSTILE}` });
    await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('hostile.chatter_')), 15_000);

    const inputs = hostileInputs();
    // Every command with a string option is covered (clip, clips, keyword, logs, settings, stream, trigger).
    expect(new Set(inputs.map((i) => i.input.command))).toEqual(new Set(['clip', 'clips', 'keyword', 'logs', 'settings', 'stream', 'trigger']));
    const dirty: string[] = [];
    for (const { label, input } of inputs) {
      const exchange = h.discord.interact(input);
      const answer = await exchange.final(20_000);
      for (const message of [answer, ...exchange.followUps]) {
        if (textsOf(message).some((text) => UNSAFE.test(text))) dirty.push(`${label}: ${JSON.stringify(textsOf(message))}`);
      }
    }
    // Then the lists, which echo what was stored and logged.
    for (const input of [
      { command: 'keyword', subcommand: 'list' },
      { command: 'stream', subcommand: 'list' },
      { command: 'status' },
      { command: 'logs' },
      { command: 'clips' },
    ]) {
      const answer = await h.command(input);
      if (textsOf(answer).some((text) => UNSAFE.test(text))) dirty.push(`/${input.command}: ${JSON.stringify(textsOf(answer))}`);
    }
    expect(dirty).toEqual([]);
  }, 120_000);

  it('cleans a /clip note in the public reply, keeping right-to-left letters', async () => {
    const exchange = h.discord.interact({ command: 'clip', options: { stream: 'hostile.user', note: HOSTILE } });
    const initial = await exchange.initial();
    expect(initial.ephemeral).toBe(false);
    const reply = await exchange.final(30_000);
    const note = reply.embeds[0]?.fields?.find((f: { name: string }) => f.name === 'Note');
    expect(note?.value).toContain(CLEANED);
    expect(textsOf(reply).some((text) => UNSAFE.test(text))).toBe(false);
  }, 60_000);

  it('cleans a chat and the chatter name in the alert', async () => {
    h.tiktok.sendChat('hostile.user', { handle: 'alert.chatter', nickname: `nick${HOSTILE}`, text: `clip it ${HOSTILE}` });
    const alert = await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('alert.chatter_')), 15_000);
    expect(alert.embeds[0]?.description ?? '').toContain(CLEANED);
    expect(textsOf(alert).some((text) => UNSAFE.test(text))).toBe(false);
  });
});
