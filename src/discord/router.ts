import { randomBytes } from 'node:crypto';
import {
  GuildMember,
  MessageFlags,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type InteractionReplyOptions,
} from 'discord.js';
import type { Logger } from 'pino';
import type { Command, CommandContext } from './command.js';
import { UserError } from '../util/errors.js';
import { isAllowed } from './permissions.js';

export const REFUSAL = 'You need the Manage Server permission or the bot’s moderator role to use this.';

/**
 * Routes every interaction to its command. Guarantees that each one gets an answer: refusals and
 * UserErrors as short ephemeral replies, anything else logged with a report id the member can quote.
 */
export class InteractionRouter {
  private readonly byName: ReadonlyMap<string, Command>;

  constructor(
    commands: readonly Command[],
    private readonly context: CommandContext,
    private readonly log: Logger,
  ) {
    this.byName = new Map(commands.map((c) => [c.data.name, c]));
  }

  async handle(interaction: Interaction): Promise<void> {
    if (interaction.isAutocomplete()) return this.autocomplete(interaction);
    if (!interaction.isChatInputCommand()) return;
    try {
      await this.execute(interaction);
    } catch (err) {
      await this.fail(interaction, err);
    }
  }

  private async execute(interaction: ChatInputCommandInteraction): Promise<void> {
    const command = this.byName.get(interaction.commandName);
    if (!command) throw new UserError('NOT_FOUND', 'This command is not known to the bot any more.');
    if (!interaction.inGuild()) throw new UserError('FORBIDDEN', 'Use this command in a server.');
    if (!(await this.isPermitted(interaction))) {
      this.log.info({ user: interaction.user.id, command: interaction.commandName }, 'command refused');
      throw new UserError('FORBIDDEN', REFUSAL);
    }
    const subcommand = interaction.options.getSubcommand(false) ?? '';
    if (command.deferred?.includes(subcommand)) await interaction.deferReply();
    await command.execute(interaction, this.context);
  }

  private async autocomplete(interaction: AutocompleteInteraction): Promise<void> {
    const command = this.byName.get(interaction.commandName);
    try {
      // Suggestions reveal the guild's setup: strangers get none.
      if (!command?.autocomplete || !interaction.inGuild() || !(await this.isPermitted(interaction))) {
        await interaction.respond([]);
        return;
      }
      await command.autocomplete(interaction, this.context);
    } catch (err) {
      this.log.warn({ err }, 'autocomplete failed');
      if (!interaction.responded) await interaction.respond([]).catch(() => undefined);
    }
  }

  private async isPermitted(interaction: ChatInputCommandInteraction | AutocompleteInteraction): Promise<boolean> {
    const settings = await this.context.settings.load(interaction.guildId!);
    const member = interaction.member;
    const roleIds = member instanceof GuildMember ? [...member.roles.cache.keys()] : (member?.roles ?? []);
    return isAllowed({
      permissions: interaction.memberPermissions,
      roleIds: Array.isArray(roleIds) ? roleIds : [],
      moderatorRoleId: settings.moderatorRoleId,
    });
  }

  private async fail(interaction: ChatInputCommandInteraction, err: unknown): Promise<void> {
    let content: string;
    if (err instanceof UserError) {
      content = err.message;
    } else {
      const reportId = randomBytes(4).toString('hex');
      this.log.error({ err, reportId, command: interaction.commandName }, 'command failed');
      content = `Something went wrong (report \`${reportId}\`). Nothing was changed.`;
    }
    try {
      await respond(interaction, { content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    } catch (replyErr) {
      this.log.warn({ err: replyErr }, 'could not answer the interaction');
    }
  }
}

/** Replies, edits the deferred reply, or follows up, whichever the interaction's state allows. */
export async function respond(
  interaction: ChatInputCommandInteraction,
  options: InteractionReplyOptions & { flags?: MessageFlags.Ephemeral },
): Promise<void> {
  if (interaction.deferred && !interaction.replied) {
    // A deferred reply keeps the visibility it was deferred with; drop the ephemeral flag.
    const { flags: _flags, ...rest } = options;
    await interaction.editReply(rest);
  } else if (interaction.replied) {
    await interaction.followUp(options);
  } else {
    await interaction.reply(options);
  }
}
