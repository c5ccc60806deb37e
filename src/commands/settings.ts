import { ChannelType, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import { UserError } from '../util/errors.js';
import { isCaptureMode, SETTINGS_DEFAULTS, SETTINGS_LIMITS } from '../store/settings-schema.js';
import type { Command } from '../discord/command.js';
import { forModerators } from '../discord/permissions.js';

const ALERT_PERMISSIONS = [
  PermissionFlagsBits.ViewChannel,
  PermissionFlagsBits.SendMessages,
  PermissionFlagsBits.EmbedLinks,
  PermissionFlagsBits.AttachFiles,
];

export const settingsCommand = {
  data: forModerators(
    new SlashCommandBuilder()
      .setName('settings')
      .setDescription('Where and how the bot clips')
      .addSubcommand((sub) =>
        sub
          .setName('channel')
          .setDescription('Where alerts are posted')
          .addChannelOption((o) =>
            o.setName('channel').setDescription('a text channel').setRequired(true).addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement),
          ),
      )
      .addSubcommand((sub) =>
        sub
          .setName('role')
          .setDescription('A role that may use the bot besides members with Manage Server')
          .addRoleOption((o) => o.setName('role').setDescription('the moderator role').setRequired(true)),
      )
      .addSubcommand((sub) =>
        sub
          .setName('cooldown')
          .setDescription(`At most one automatic clip per stream within this time (default ${SETTINGS_DEFAULTS.cooldownSeconds} s)`)
          .addIntegerOption((o) =>
            o.setName('seconds').setDescription('seconds, 0 for none').setRequired(true).setMinValue(0).setMaxValue(SETTINGS_LIMITS.maxCooldownSeconds),
          ),
      )
      .addSubcommand((sub) =>
        sub
          .setName('delay')
          .setDescription('Wait this long after a trigger before saving, to catch the reaction (default 0)')
          .addIntegerOption((o) =>
            o.setName('seconds').setDescription('seconds').setRequired(true).setMinValue(0).setMaxValue(SETTINGS_LIMITS.maxDelaySeconds),
          ),
      )
      .addSubcommand((sub) =>
        sub
          .setName('capture')
          .setDescription(`The default capture: obs (OBS's replay buffer) or stream (the LIVE's own video; default ${SETTINGS_DEFAULTS.captureMode})`)
          .addStringOption((o) =>
            o.setName('mode').setDescription('obs or stream').setRequired(true).addChoices({ name: 'obs', value: 'obs' }, { name: 'stream', value: 'stream' }),
          ),
      )
      .addSubcommand((sub) =>
        sub
          .setName('window')
          .setDescription(`Stream capture: seconds kept before and after the trigger (default ${SETTINGS_DEFAULTS.windowBeforeSeconds} and ${SETTINGS_DEFAULTS.windowAfterSeconds})`)
          .addIntegerOption((o) =>
            o.setName('before').setDescription('seconds before').setRequired(true).setMinValue(0).setMaxValue(SETTINGS_LIMITS.maxWindowBeforeSeconds),
          )
          .addIntegerOption((o) =>
            o.setName('after').setDescription('seconds after').setRequired(true).setMinValue(0).setMaxValue(SETTINGS_LIMITS.maxWindowAfterSeconds),
          ),
      )
      .addSubcommand((sub) =>
        sub
          .setName('highlights')
          .setDescription('Where clips marked Keep on an alert are posted too (none by default)')
          .addChannelOption((o) =>
            o.setName('channel').setDescription('a text channel (leave out to stop posting highlights)').addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement),
          ),
      )
      .addSubcommand((sub) =>
        sub
          .setName('recap')
          .setDescription('Post a recap when a watched LIVE ends (default off)')
          .addBooleanOption((o) => o.setName('enabled').setDescription('on or off').setRequired(true)),
      )
      .addSubcommand((sub) =>
        sub
          .setName('notify')
          .setDescription('Post a notice when a watched user goes live or ends')
          .addBooleanOption((o) => o.setName('enabled').setDescription('on or off').setRequired(true)),
      ),
  ),

  async execute(interaction, { settings, delivery }) {
    const guildId = interaction.guildId;
    switch (interaction.options.getSubcommand()) {
      case 'channel': {
        const channel = interaction.options.getChannel('channel', true);
        if (channel.type !== ChannelType.GuildText && channel.type !== ChannelType.GuildAnnouncement) {
          throw new UserError('INVALID_SETTING', 'Alerts need a text channel.');
        }
        // Refuse a channel the bot cannot post clips in now, rather than fail silently at the next clip.
        const me = interaction.guild?.members.me;
        const resolved = interaction.guild?.channels.cache.get(channel.id);
        if (me && resolved && !resolved.permissionsFor(me).has(ALERT_PERMISSIONS)) {
          throw new UserError('INVALID_SETTING', `I cannot post clips in <#${channel.id}>: I need View Channel, Send Messages, Embed Links and Attach Files there.`);
        }
        const held = delivery.problems(guildId).reduce((sum, p) => sum + p.waiting, 0) + delivery.waitingForAlertChannel(guildId);
        await settings.setAlertChannel(guildId, channel.id);
        // Alerts held for a channel the bot could not post in, or waiting for any channel, go out now, to this one.
        delivery.retryGuild(guildId);
        await interaction.reply(`Alerts will be posted in <#${channel.id}>.${held > 0 ? ` ${held} waiting post${held === 1 ? '' : 's'} will be delivered there now.` : ''}`);
        return;
      }
      case 'role': {
        const role = interaction.options.getRole('role', true);
        if (role.id === guildId) throw new UserError('INVALID_SETTING', 'Choose a specific role, not @everyone.');
        await settings.setModeratorRole(guildId, role.id);
        await interaction.reply({ content: `Members with <@&${role.id}> may now use the bot.`, allowedMentions: { parse: [] } });
        return;
      }
      case 'cooldown': {
        const seconds = interaction.options.getInteger('seconds', true);
        await settings.setCooldown(guildId, seconds);
        await interaction.reply(seconds === 0 ? 'Cooldown off: every trigger may clip.' : `At most one automatic clip per stream every ${seconds} s.`);
        return;
      }
      case 'delay': {
        const seconds = interaction.options.getInteger('seconds', true);
        await settings.setDelay(guildId, seconds);
        await interaction.reply(seconds === 0 ? 'Clips are saved as soon as a keyword fires.' : `Clips are saved ${seconds} s after a keyword fires.`);
        return;
      }
      case 'capture': {
        const mode = interaction.options.getString('mode', true);
        if (!isCaptureMode(mode)) throw new UserError('INVALID_SETTING', 'The capture must be `obs` or `stream`.');
        await settings.setCaptureMode(guildId, mode);
        await interaction.reply(mode === 'stream'
          ? "Streams without their own choice are now clipped from the LIVE's own video (OBS is not needed for them)."
          : "Streams without their own choice are now clipped from OBS's replay buffer.");
        return;
      }
      case 'window': {
        const before = interaction.options.getInteger('before', true);
        const after = interaction.options.getInteger('after', true);
        await settings.setWindow(guildId, before, after);
        await interaction.reply(`Stream capture clips keep ${before} s before and ${after} s after the trigger.`);
        return;
      }
      case 'highlights': {
        const channel = interaction.options.getChannel('channel');
        if (!channel) {
          await settings.setHighlightsChannel(guildId, undefined);
          // Highlights still queued go no more: their cards stop saying "posting".
          delivery.retryGuild(guildId);
          await interaction.reply('Kept clips are no longer posted to a highlights channel.');
          return;
        }
        if (channel.type !== ChannelType.GuildText && channel.type !== ChannelType.GuildAnnouncement) {
          throw new UserError('INVALID_SETTING', 'Highlights need a text channel.');
        }
        const me = interaction.guild?.members.me;
        const resolved = interaction.guild?.channels.cache.get(channel.id);
        if (me && resolved && !resolved.permissionsFor(me).has(ALERT_PERMISSIONS)) {
          throw new UserError('INVALID_SETTING', `I cannot post clips in <#${channel.id}>: I need View Channel, Send Messages, Embed Links and Attach Files there.`);
        }
        await settings.setHighlightsChannel(guildId, channel.id);
        // Highlights held for a channel the bot could not post in go out now, to this one.
        delivery.retryGuild(guildId);
        await interaction.reply(`Clips marked **Keep** on an alert will be posted in <#${channel.id}> too.`);
        return;
      }
      case 'recap': {
        const isOn = interaction.options.getBoolean('enabled', true);
        await settings.setRecapEnabled(guildId, isOn);
        await interaction.reply(isOn ? 'When a watched LIVE ends I will post a recap of it.' : 'No more recaps when a LIVE ends.');
        return;
      }
      default: {
        const isOn = interaction.options.getBoolean('enabled', true);
        await settings.setNotifyLive(guildId, isOn);
        await interaction.reply(isOn ? 'I will post when a watched user goes live or ends.' : 'No more live/ended notices.');
      }
    }
  },
} satisfies Command;
