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
import { leanError } from '../delivery/discord-errors.js';
import { UserError } from '../util/errors.js';
import { cleanMessage } from '../util/text.js';
import { isAllowed } from './permissions.js';
import { ButtonRouter } from './button-router.js';
import { answerOf, failureText, refOf, type InteractionAnswer, type RoutedTask } from './routed.js';

export const REFUSAL = 'You need the Manage Server permission or the bot’s moderator role to use this.';

/**
 * Routes every interaction to its command. Guarantees that each one gets an answer: refusals and
 * UserErrors as short ephemeral replies, anything else logged with a report id the member can quote.
 */
export class InteractionRouter {
  private readonly byName: ReadonlyMap<string, Command>;
  private readonly buttons: ButtonRouter;

  constructor(
    commands: readonly Command[],
    private readonly context: CommandContext,
    private readonly log: Logger,
  ) {
    this.byName = new Map(commands.map((c) => [c.data.name, c]));
    this.buttons = new ButtonRouter(context, log);
  }

  async handle(interaction: Interaction): Promise<void> {
    if (interaction.isAutocomplete()) return this.autocomplete(interaction);
    if (interaction.isButton()) return this.buttons.handle(interaction);
    if (!interaction.isChatInputCommand()) return;
    cleanRepliesOf(interaction);
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
    if (command.deferred?.includes(subcommand) || command.routed) await interaction.deferReply();
    if (!command.routed) return command.execute(interaction, this.context);
    const { live, args } = await command.routed.prepare(interaction, this.context);
    const routing = this.context.routing;
    const work = { interaction: refOf(interaction), task: { kind: 'command', name: command.data.name, args } } as const;
    if (routing && (await routing.forward({ live }, work)) === 'answered') return;
    await command.routed.run(args, answerOf(interaction), this.context);
  }

  /**
   * Work the gateway node routed here (CLUSTER=true), answered through the interaction's webhook with the
   * code a local interaction runs. False when no answer at all could be sent (the gateway then tries).
   */
  async runRouted(task: RoutedTask, answer: InteractionAnswer): Promise<boolean> {
    if (task.kind === 'press') return this.buttons.runRouted(task, answer);
    try {
      const command = this.byName.get(task.name);
      if (!command?.routed) throw new UserError('NOT_FOUND', 'This command is not known to the bot any more.');
      await command.routed.run(task.args, answer, this.context);
      return true;
    } catch (err) {
      const content = failureText(err, this.log, 'command failed', { command: task.name }, ' Nothing was changed.');
      return answer.edit({ content, allowedMentions: { parse: [] } }).then(
        () => true,
        (replyErr: unknown) => {
          this.log.warn({ err: leanError(replyErr) }, 'could not answer the interaction');
          return false;
        },
      );
    }
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
      this.log.warn({ err: leanError(err) }, 'autocomplete failed');
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
    const content = failureText(err, this.log, 'command failed', { command: interaction.commandName }, ' Nothing was changed.');
    try {
      await respond(interaction, { content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    } catch (replyErr) {
      this.log.warn({ err: leanError(replyErr) }, 'could not answer the interaction');
    }
  }
}

/**
 * Every reply, edit and follow-up of this interaction goes through cleanMessage, whichever command or
 * error path sends it: an echoed option, a stored name or a /logs line cannot carry control characters or
 * bidi overrides into Discord.
 */
function cleanRepliesOf(interaction: ChatInputCommandInteraction): void {
  type Send = (options: unknown) => Promise<unknown>;
  const methods = interaction as unknown as Record<'reply' | 'editReply' | 'followUp', Send>;
  for (const name of ['reply', 'editReply', 'followUp'] as const) {
    const send = methods[name].bind(interaction);
    methods[name] = (options: unknown) => send(cleanMessage(options));
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
