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
import { answerOf, failureText, refOf, type InteractionAnswer, type PressTask } from './routed.js';

export const BUTTON_REFUSAL = 'You need the Manage Server permission or the bot’s moderator role to review clips.';

/**
 * Routes button presses (the review card's Keep, Discard, Restore, False positive, Extend) the way the
 * InteractionRouter routes commands. Every press is checked like a command, since
 * `default_member_permissions` does not cover buttons: anyone who sees the channel can press them. A
 * permitted press is deferred at once (type 6, inside Discord's 3 s), then the card is edited to what the
 * review says; anything to tell the member goes as a private follow-up. In a cluster the press is carried
 * out on the node that filed the clip (its files are there), which edits the card itself.
 */
export class ButtonRouter {
  constructor(
    private readonly context: Pick<CommandContext, 'review' | 'settings' | 'clipReplies' | 'routing'>,
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
      const task: PressTask = {
        kind: 'press',
        guildId: interaction.guildId,
        clipId: parsed.clipId,
        action: parsed.action,
        member: memberName(interaction),
        attachmentSizeLimit: interaction.attachmentSizeLimit,
        // Only the video goes when it leaves the card; the chat file stays.
        keptAttachments: [...interaction.message.attachments.filter((a) => !a.name.toLowerCase().endsWith('.mp4')).values()].map((a) => ({ id: a.id, filename: a.name })),
      };
      if (await this.isForwarded(interaction, task)) return;
      await this.press(task, answerOf(interaction));
    } catch (err) {
      await this.fail(interaction, err);
    }
  }

  /** A press the gateway node routed here (CLUSTER=true: this node filed the clip). False when no answer could be sent. */
  async runRouted(task: PressTask, answer: InteractionAnswer): Promise<boolean> {
    try {
      await this.press(task, answer);
      return true;
    } catch (err) {
      return answer.whisper(failureText(err, this.log, 'button failed', { button: `${task.action}:${task.clipId}` })).then(
        () => true,
        (replyErr: unknown) => {
          this.log.warn({ err: leanError(replyErr) }, 'could not answer the button press');
          return false;
        },
      );
    }
  }

  /** In a cluster, a clip filed by another node is pressed there: true once that node answered. */
  private async isForwarded(interaction: ButtonInteraction, task: PressTask): Promise<boolean> {
    const { routing, review } = this.context;
    if (!routing || !review) return false;
    const view = await review.view(task.guildId, task.clipId);
    if (!view?.filedOn) return false;
    const target = { filedOn: view.filedOn, streamer: view.streamer ?? '' };
    return (await routing.forward(target, { interaction: refOf(interaction), task })) === 'answered';
  }

  private async press(task: PressTask, answer: InteractionAnswer): Promise<void> {
    const result = await this.context.review!.press(task.guildId, task.clipId, task.action, task.member);
    try {
      await answer.edit(await this.edit(task, result));
    } finally {
      // A highlight Keep queued goes out now the card says "posting" (never before: the posted edit would lose).
      result.afterReply?.();
    }
    if (result.note) await answer.whisper(result.note);
  }

  /** The card after the press: its line and buttons, and its files when the clip left or changed. */
  private async edit(task: PressTask, result: PressResult): Promise<InteractionEditReplyOptions> {
    const base: InteractionEditReplyOptions = { content: cardContent(result.view), components: cardComponents(result.view), allowedMentions: { parse: [] } };
    if (result.clip === 'remove') return { ...base, attachments: [...task.keptAttachments] };
    if (!result.clip) return base;
    const fitted = await this.context.clipReplies.fitted(result.clip.path, task.attachmentSizeLimit);
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
    const content = failureText(err, this.log, 'button failed', { button: interaction.customId });
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
