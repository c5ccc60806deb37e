import { SlashCommandBuilder } from 'discord.js';
import { UserError } from '../util/errors.js';
import { joinLines } from '../util/markdown.js';
import { isHypeSensitivity, SETTINGS_LIMITS, type GuildSettings } from '../store/settings-schema.js';
import { TRIGGER_DEFAULTS } from '../triggers/defaults.js';
import type { Command } from '../discord/command.js';
import { forModerators } from '../discord/permissions.js';
import { readReviewCounts, reviewTally, type ReviewCounts } from './review-tally.js';

const SENSITIVITY_CHOICES = [
  { name: `off`, value: 'off' },
  { name: `low (${TRIGGER_DEFAULTS.hype.thresholds.low.multiple}x usual pace, at least ${TRIGGER_DEFAULTS.hype.thresholds.low.minPerSecond} msgs/s)`, value: 'low' },
  { name: `medium (${TRIGGER_DEFAULTS.hype.thresholds.medium.multiple}x usual pace, at least ${TRIGGER_DEFAULTS.hype.thresholds.medium.minPerSecond} msgs/s)`, value: 'medium' },
  { name: `high (${TRIGGER_DEFAULTS.hype.thresholds.high.multiple}x usual pace, at least ${TRIGGER_DEFAULTS.hype.thresholds.high.minPerSecond} msgs/s)`, value: 'high' },
] as const;

export const triggerCommand = {
  data: forModerators(
    new SlashCommandBuilder()
      .setName('trigger')
      .setDescription('Triggers beyond keywords: big gifts and hype')
      .addSubcommand((sub) =>
        sub
          .setName('gift')
          .setDescription('Also clip when a gift (or a streak, once it ends) is worth at least this many diamonds')
          .addIntegerOption((o) =>
            o
              .setName('min_diamonds')
              .setDescription('diamonds, 0 for off')
              .setRequired(true)
              .setMinValue(0)
              .setMaxValue(SETTINGS_LIMITS.maxGiftMinDiamonds),
          ),
      )
      .addSubcommand((sub) =>
        sub
          .setName('hype')
          .setDescription("Also clip when a stream's chat suddenly runs far faster than its usual pace")
          .addStringOption((o) =>
            o.setName('sensitivity').setDescription('how eagerly (default off)').setRequired(true).addChoices(...SENSITIVITY_CHOICES),
          ),
      )
      .addSubcommand((sub) => sub.setName('list').setDescription("The server's triggers beyond keywords")),
  ),

  async execute(interaction, { settings, review }) {
    const guildId = interaction.guildId;
    switch (interaction.options.getSubcommand()) {
      case 'gift': {
        const diamonds = interaction.options.getInteger('min_diamonds', true);
        await settings.setGiftMinDiamonds(guildId, diamonds);
        await interaction.reply(diamonds === 0 ? 'Gift trigger off.' : `Gift trigger on: ${describeGift(diamonds)}.`);
        return;
      }
      case 'hype': {
        const sensitivity = interaction.options.getString('sensitivity', true);
        if (!isHypeSensitivity(sensitivity)) throw new UserError('INVALID_SETTING', 'Sensitivity must be off, low, medium or high.');
        await settings.setHypeSensitivity(guildId, sensitivity);
        await interaction.reply(sensitivity === 'off' ? 'Hype trigger off.' : `Hype trigger on: ${describeHype(sensitivity)}.`);
        return;
      }
      default: {
        const current = await settings.load(guildId);
        const counts = await readReviewCounts(review, guildId);
        await interaction.reply({ content: listTriggers(current, counts), allowedMentions: { parse: [] } });
      }
    }
  },
} satisfies Command;

function describeGift(diamonds: number): string {
  return `a gift or finished streak worth at least ${diamonds} 💎 clips the moment (smaller gifts within ${TRIGGER_DEFAULTS.gift.sumWindowMs / 1000} s add up)`;
}

function describeHype(sensitivity: keyof typeof TRIGGER_DEFAULTS.hype.thresholds): string {
  const t = TRIGGER_DEFAULTS.hype.thresholds[sensitivity];
  return (
    `${sensitivity}: chat over the last 5 s at ${t.multiple}x the stream's usual pace and at least ${t.minPerSecond} msgs/s ` +
    `clips the moment (after ${TRIGGER_DEFAULTS.hype.minHistorySeconds} s of chat history)`
  );
}

/** `counts`: the stored review counts, shown for each trigger (also once it is off: what it did while on). */
export function listTriggers(settings: GuildSettings, counts?: ReviewCounts): string {
  // A trigger that is off and never fired has nothing to tally.
  const tally = (key: 'gift' | 'hype', isOn: boolean) => (isOn || counts?.[key] ? reviewTally(counts, key) : '');
  return joinLines([
    '**Triggers beyond keywords:**',
    `• Gift: ${settings.giftMinDiamonds === 0 ? 'off — `/trigger gift`' : describeGift(settings.giftMinDiamonds)}${tally('gift', settings.giftMinDiamonds !== 0)}`,
    `• Hype: ${settings.hypeSensitivity === 'off' ? 'off — `/trigger hype`' : describeHype(settings.hypeSensitivity)}${tally('hype', settings.hypeSensitivity !== 'off')}`,
    `Both respect the cooldown (${settings.cooldownSeconds} s per stream). Keywords: \`/keyword list\`.`,
  ]);
}
