import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { AttachmentBuilder, GuildMember, MessageFlags, type ButtonInteraction, type InteractionEditReplyOptions } from 'discord.js';
import type { Logger } from 'pino';
import { leanError } from '../delivery/discord-errors.js';
import { cardComponents, cardContent, parseReviewCustomId } from '../review/review-card.js';
import type { PressResult } from '../review/review-service.js';
import { UserError } from '../util/errors.js';
import { cleanMessage } from '../util/text.js';
import type { CommandContext } from './command.js';
import { isAllowed } from './permissions.js';

export const BUTTON_REFUSAL = 'You need the Manage Server permission or the bot’s moderator role to review clips.';

/**
 * Routes button presses (the review card's Keep, Discard, Restore, False positive, Extend) the way the
 * InteractionRouter routes commands. Every press is checked like a command, since
 * `default_member_permissions` does not cover buttons: anyone who sees the channel can press them. A
 * permitted press is deferred at once (type 6, inside Discord's 3 s), then the card is edited to what the
 * review says; anything to tell the member goes as a private follow-up.
 */
export class ButtonRouter {
  constructor(
    private readonly context: Pick<CommandContext, 'review' | 'settings' | 'clipReplies'>,
    private readonly log: Logger,
  ) {}

  async handle(interaction: ButtonInteraction): Promise<void> {
    const parsed = parseReviewCustomId(interaction.customId);
    const { review } = this.context;
    try {
      if (!parsed || !review) throw new UserError('NOT_FOUND', 'This button is not known to the bot any more.');
      if (!interaction.inGuild()) throw new UserError('FORBIDDEN', 'Use this in a server.');
      if (!(await this.isPermitted(interaction))) {
        this.log.info({ user: interaction.user.id, button: parsed.action }, 'button refused');
        throw new UserError('FORBIDDEN', BUTTON_REFUSAL);
      }
      await interaction.deferUpdate();
      const result = await review.press(interaction.guildId, parsed.clipId, parsed.action, memberName(interaction));
      try {
        await interaction.editReply(cleanMessage(await this.edit(interaction, result)));
      } finally {
        // A highlight Keep queued goes out now the card says "posting" (never before: the posted edit would lose).
        result.afterReply?.();
      }
      if (result.note) await interaction.followUp({ content: result.note, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    } catch (err) {
      await this.fail(interaction, err);
    }
  }

  /** The card after the press: its line and buttons, and its files when the clip left or changed. */
  private async edit(interaction: ButtonInteraction, result: PressResult): Promise<InteractionEditReplyOptions> {
    const base: InteractionEditReplyOptions = { content: cardContent(result.view), components: cardComponents(result.view), allowedMentions: { parse: [] } };
    if (result.clip === 'remove') {
      // Only the video goes; the chat file stays with the card.
      return { ...base, attachments: [...interaction.message.attachments.filter((a) => !a.name.toLowerCase().endsWith('.mp4')).values()] };
    }
    if (!result.clip) return base;
    const fitted = await this.context.clipReplies.fitted(result.clip.path, interaction.attachmentSizeLimit);
    const files = [new AttachmentBuilder(fitted.path, { name: result.clip.fileName })];
    if (result.clip.srtPath) files.push(new AttachmentBuilder(result.clip.srtPath, { name: path.basename(result.clip.srtPath) }));
    return { ...base, attachments: [], files };
  }

  private async isPermitted(interaction: ButtonInteraction<'cached' | 'raw'>): Promise<boolean> {
    const settings = await this.context.settings.load(interaction.guildId);
    const member = interaction.member;
    const roleIds = member instanceof GuildMember ? [...member.roles.cache.keys()] : member.roles;
    return isAllowed({ permissions: interaction.memberPermissions, roleIds: Array.isArray(roleIds) ? roleIds : [], moderatorRoleId: settings.moderatorRoleId });
  }

  private async fail(interaction: ButtonInteraction, err: unknown): Promise<void> {
    let content: string;
    if (err instanceof UserError) content = err.message;
    else {
      const reportId = randomBytes(4).toString('hex');
      this.log.error({ err: leanError(err), reportId, button: interaction.customId }, 'button failed');
      content = `Something went wrong (report \`${reportId}\`).`;
    }
    try {
      const options = cleanMessage({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } } as const);
      if (interaction.deferred || interaction.replied) await interaction.followUp(options);
      else await interaction.reply(options);
    } catch (replyErr) {
      this.log.warn({ err: leanError(replyErr) }, 'could not answer the button press');
    }
  }
}

function memberName(interaction: ButtonInteraction): string {
  const member = interaction.member;
  if (member instanceof GuildMember) return member.displayName;
  return member?.nick ?? interaction.user.globalName ?? interaction.user.username;
}
