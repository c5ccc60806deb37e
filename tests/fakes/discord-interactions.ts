/**
 * Interactions the fake sends and the answers it collects: the INTERACTION_CREATE payload for a
 * slash command or autocomplete, and one Exchange per interaction that records the callback,
 * the @original message and follow-ups.
 * Protocol: https://discord.com/developers/docs/interactions/receiving-and-responding
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  InteractionContextType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  MessageType,
} from 'discord.js';
import {
  type ApiErrorReply,
  type IncomingBody,
  type PostedMessage,
  type StoredMessage,
  buildMessage,
  checkUploadLimit,
  isRecord,
  toPosted,
  validateMessage,
} from './discord-messages.js';
import {
  type FakeMember,
  type GuildState,
  type SnowflakeFactory,
  BOT_PERMISSIONS,
  channelPayload,
  interactionMemberPayload,
  memberUser,
  resolvedChannelPayload,
  rolePayload,
  userPayload,
} from './discord-payloads.js';
import { ChangeFeed } from './discord-wait.js';

export interface InteractionInput {
  command: string;
  subcommand?: string;
  subcommandGroup?: string;
  /**
   * Option values by name. The option type comes from the registered command when there is one, else
   * from the value (string 3, integer 4, other number 10, boolean 5). Channel (7), role (8) and user (6)
   * options take an id and are resolved against the fake guild.
   */
  options?: Record<string, string | number | boolean>;
  /** Default: the guild owner, with Administrator | ManageGuild. */
  member?: FakeMember;
  /** Default: the main guild. */
  guildId?: string;
  /** Default: the guild's general channel. */
  channelId?: string;
  /** Default 10 MiB; Discord sends the invoking guild's limit with every interaction. */
  attachmentSizeLimit?: number;
}

export interface InitialCallback {
  type: number;
  data: any;
  ephemeral: boolean;
}

export interface InteractionExchange {
  readonly id: string;
  /** The first callback the bot sent (type 4 reply, 5 deferred, 8 autocomplete result…). */
  initial(timeoutMs?: number): Promise<InitialCallback>;
  /**
   * The visible answer: the type-4 reply, or after a deferral @original as edited (waits for the first
   * PATCH). Resolves with @original's state at that moment; `edits` keeps every state.
   */
  final(timeoutMs?: number): Promise<PostedMessage>;
  readonly followUps: PostedMessage[];
  /** @original after each PATCH, in order. */
  readonly edits: PostedMessage[];
}

/** What the fake knows about a registered command, enough to type options and name the command id. */
export interface RegisteredCommand {
  id: string;
  name: string;
  options?: unknown[];
  guild_id?: string;
}

/** What an exchange needs from the server to build messages. */
export interface ExchangeContext {
  /** 2 application command, 3 message component, 4 autocomplete. */
  interactionType: number;
  /**
   * A component interaction's message (the one whose button was pressed): a type 7 callback, or a PATCH
   * of @original after a type 6, edits this channel message in place (interactions/receiving-and-responding).
   */
  componentMessage?: { read(): StoredMessage | undefined; write(edited: StoredMessage): void };
  ids: SnowflakeFactory;
  applicationId: string;
  channelId: string;
  /** attachment_size_limit of the interaction: larger uploads get 413. */
  uploadLimit: number;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: ApiErrorReply };

const DEFAULT_WAIT_MS = 5_000;

/** Discord's deadline for the first callback; after it the token answers 10062 Unknown interaction. */
export const INITIAL_RESPONSE_DEADLINE_MS = 3_000;

const unknownInteraction: ApiErrorReply = { status: 404, body: { message: 'Unknown interaction', code: 10062 } };
const unknownMessage: ApiErrorReply = { status: 404, body: { message: 'Unknown Message', code: 10008 } };
const unknownWebhook: ApiErrorReply = { status: 404, body: { message: 'Unknown Webhook', code: 10015 } };
const alreadyAcknowledged: ApiErrorReply = {
  status: 400,
  body: { message: 'Interaction has already been acknowledged.', code: 40060 },
};

/** One interaction's lifetime on the fake side: the server routes callbacks and webhook calls here. */
export class Exchange implements InteractionExchange {
  readonly id: string;
  readonly token: string;
  readonly followUps: PostedMessage[] = [];
  readonly edits: PostedMessage[] = [];
  readonly #context: ExchangeContext;
  readonly #createdAt = Date.now();
  readonly #feed = new ChangeFeed();
  readonly #followUpMessages: StoredMessage[] = [];
  #initial: InitialCallback | undefined;
  #original: StoredMessage | undefined;
  /** A component interaction's message once the bot updated it (type 7, or an edit after type 6). */
  #componentUpdate: StoredMessage | undefined;

  constructor(id: string, token: string, context: ExchangeContext) {
    this.id = id;
    this.token = token;
    this.#context = context;
  }

  initial(timeoutMs = DEFAULT_WAIT_MS): Promise<InitialCallback> {
    return this.#feed.waitFor(() => this.#initial, timeoutMs, () => `the first callback to interaction ${this.id}`);
  }

  final(timeoutMs = DEFAULT_WAIT_MS): Promise<PostedMessage> {
    return this.#feed.waitFor(
      () => (this.#isUpdatingMessage() ? (this.#componentUpdate && toPosted(this.#componentUpdate)) : this.#visibleOriginal()),
      timeoutMs,
      () => `a visible reply to interaction ${this.id} (first callback: ${this.#initial?.type ?? 'none'})`,
    );
  }

  get interactionType(): number {
    return this.#context.interactionType;
  }

  cancelWaits(reason: Error): void {
    this.#feed.cancelAll(reason);
  }

  /** POST /interactions/:id/:token/callback with body `{ type, data }`. */
  acknowledge(body: IncomingBody): Outcome<StoredMessage | undefined> {
    if (this.#initial) return { ok: false, error: alreadyAcknowledged };
    if (Date.now() - this.#createdAt > INITIAL_RESPONSE_DEADLINE_MS) return { ok: false, error: unknownInteraction };
    const type = Number(body.json.type);
    const data = isRecord(body.json.data) ? body.json.data : {};
    const inner: IncomingBody = { value: data, json: data, files: body.files };
    const isEphemeral = ((Number(data.flags) || 0) & MessageFlags.Ephemeral) !== 0;

    const component = this.#context.componentMessage;
    if (component && (type === InteractionResponseType.UpdateMessage || type === InteractionResponseType.DeferredMessageUpdate)) {
      return this.#acknowledgeUpdate(component, type, inner, data);
    }
    if (!component && (type === InteractionResponseType.UpdateMessage || type === InteractionResponseType.DeferredMessageUpdate)) {
      // Only a component interaction has a message to update.
      return { ok: false, error: { status: 400, body: { message: 'Interaction callback type not valid for this interaction', code: 50035 } } };
    }
    const message = this.#messageForCallback(type, inner, isEphemeral);
    if (message && !message.ok) return message;
    this.#initial = { type, data, ephemeral: isEphemeral };
    this.#original = message?.value;
    this.#feed.notify();
    return { ok: true, value: message?.value };
  }

  /** Type 7 edits the pressed message now; type 6 only acknowledges (the edit comes as a PATCH of @original). */
  #acknowledgeUpdate(
    component: NonNullable<ExchangeContext['componentMessage']>,
    type: number,
    body: IncomingBody,
    data: Record<string, unknown>,
  ): Outcome<StoredMessage | undefined> {
    const source = component.read();
    if (!source) return { ok: false, error: unknownMessage };
    if (type === InteractionResponseType.UpdateMessage) {
      const edited = this.#editPressedMessage(component, source, body);
      if (!edited.ok) return edited;
    }
    this.#initial = { type, data, ephemeral: false };
    this.#feed.notify();
    return { ok: true, value: this.#componentUpdate ?? source };
  }

  /** Edits the message the button was pressed on, as Discord checks any message edit. */
  #editPressedMessage(component: NonNullable<ExchangeContext['componentMessage']>, source: StoredMessage, body: IncomingBody): Outcome<StoredMessage> {
    const edited = this.#build(body, source);
    const problem = validateMessage(edited, false) ?? checkUploadLimit(body, this.#context.uploadLimit);
    if (problem) return { ok: false, error: problem };
    component.write(edited);
    this.#componentUpdate = edited;
    this.edits.push(toPosted(edited));
    return { ok: true, value: edited };
  }

  /** A component interaction answered by updating its message (6 or 7) rather than by a new reply. */
  #isUpdatingMessage(): boolean {
    const type = this.#initial?.type;
    return this.#context.componentMessage !== undefined && (type === InteractionResponseType.UpdateMessage || type === InteractionResponseType.DeferredMessageUpdate);
  }

  /** The @original a callback creates: a reply (4, 7), a loading placeholder (5), or none. */
  #messageForCallback(type: number, body: IncomingBody, isEphemeral: boolean): Outcome<StoredMessage> | undefined {
    switch (type) {
      case InteractionResponseType.ChannelMessageWithSource:
      case InteractionResponseType.UpdateMessage:
        return this.#newMessage(body);
      case InteractionResponseType.DeferredChannelMessageWithSource: {
        // Discord shows "Bot is thinking…": an empty message flagged Loading until the first edit.
        const flags = MessageFlags.Loading | (isEphemeral ? MessageFlags.Ephemeral : 0);
        const placeholder = { value: {}, json: { flags }, files: [] };
        return { ok: true, value: this.#build(placeholder) };
      }
      default:
        // 6 deferred update, 8 autocomplete result, 9 modal: recorded as the initial callback only.
        return undefined;
    }
  }

  /** POST /webhooks/:app/:token: a follow-up message (Discord wants the interaction answered first). */
  followUp(body: IncomingBody): Outcome<StoredMessage> {
    if (!this.#initial) return { ok: false, error: unknownWebhook };
    const outcome = this.#newMessage(body);
    if (!outcome.ok) return outcome;
    this.#followUpMessages.push(outcome.value);
    this.followUps.push(toPosted(outcome.value));
    this.#feed.notify();
    return outcome;
  }

  /** GET /webhooks/:app/:token/messages/:id, where id may be `@original`. */
  getMessage(messageId: string): Outcome<StoredMessage> {
    const found = this.#find(messageId);
    return found ? { ok: true, value: found } : { ok: false, error: unknownMessage };
  }

  /** PATCH /webhooks/:app/:token/messages/:id: edit @original or a follow-up. */
  editMessage(messageId: string, body: IncomingBody): Outcome<StoredMessage> {
    const component = this.#context.componentMessage;
    if (component && this.#isUpdatingMessage() && (messageId === '@original' || messageId === component.read()?.id)) {
      const source = component.read();
      if (!source) return { ok: false, error: unknownMessage };
      const edited = this.#editPressedMessage(component, source, body);
      if (edited.ok) this.#feed.notify();
      return edited;
    }
    const previous = this.#find(messageId);
    if (!previous) return { ok: false, error: unknownMessage };
    const edited = this.#build(body, previous);
    const problem = validateMessage(edited, false) ?? checkUploadLimit(body, this.#context.uploadLimit);
    if (problem) return { ok: false, error: problem };

    if (previous === this.#original) {
      this.#original = edited;
      this.edits.push(toPosted(edited));
    } else {
      const index = this.#followUpMessages.indexOf(previous);
      this.#followUpMessages[index] = edited;
      this.followUps[index] = toPosted(edited);
    }
    this.#feed.notify();
    return { ok: true, value: edited };
  }

  /** DELETE /webhooks/:app/:token/messages/:id. */
  deleteMessage(messageId: string): Outcome<undefined> {
    const found = this.#find(messageId);
    if (!found) return { ok: false, error: unknownMessage };
    if (found === this.#original) this.#original = undefined;
    else {
      // Deleted follow-ups stay in `followUps` (tests ask what was posted); blanking the stored id keeps
      // the two lists index-aligned while making the message unfindable, as on Discord.
      this.#followUpMessages[this.#followUpMessages.indexOf(found)] = { ...found, id: '' };
    }
    this.#feed.notify();
    return { ok: true, value: undefined };
  }

  #find(messageId: string): StoredMessage | undefined {
    if (this.#isUpdatingMessage() && messageId === '@original') return this.#context.componentMessage?.read();
    if (messageId === '@original' || messageId === this.#original?.id) return this.#original;
    return this.#followUpMessages.find((message) => message.id === messageId);
  }

  #visibleOriginal(): PostedMessage | undefined {
    if (!this.#original || (this.#original.flags & MessageFlags.Loading) !== 0) return undefined;
    return toPosted(this.#original);
  }

  #newMessage(body: IncomingBody): Outcome<StoredMessage> {
    const message = this.#build(body);
    const problem = validateMessage(message, true) ?? checkUploadLimit(body, this.#context.uploadLimit);
    return problem ? { ok: false, error: problem } : { ok: true, value: message };
  }

  #build(body: IncomingBody, previous?: StoredMessage): StoredMessage {
    const { ids, channelId, applicationId } = this.#context;
    // The pressed message keeps its own author and type: it is the bot's channel message, edited.
    if (previous && this.#context.componentMessage && previous.id === this.#context.componentMessage.read()?.id) {
      return buildMessage(ids, body, { channelId: previous.channelId, type: previous.type, ...(previous.webhookId ? { webhookId: previous.webhookId } : {}) }, previous);
    }
    // Interaction answers are sent by the application's webhook (webhook_id = application id).
    const base = { channelId, type: MessageType.ChatInputCommand, webhookId: applicationId };
    return buildMessage(ids, body, base, previous);
  }
}

/** The body of POST /interactions/:id/:token/callback when discord.js asks `with_response=true`. */
export function callbackResponsePayload(
  exchange: Exchange,
  callbackType: number,
  message: Record<string, unknown> | undefined,
) {
  return {
    interaction: {
      id: exchange.id,
      type: exchange.interactionType,
      activity_instance_id: null,
      response_message_id: message ? message.id : null,
      response_message_loading: message ? ((Number(message.flags) & MessageFlags.Loading) !== 0) : null,
      response_message_ephemeral: message ? ((Number(message.flags) & MessageFlags.Ephemeral) !== 0) : null,
    },
    resource: { type: callbackType, ...(message ? { message } : {}) },
  };
}

export interface InteractionPayloadContext {
  guild: GuildState;
  applicationId: string;
  id: string;
  token: string;
  input: InteractionInput;
  member: FakeMember;
  channelId: string;
  /** The command as last registered (guild scope first), if the bot registered it. */
  command: RegisteredCommand | undefined;
  /** Autocomplete only: the option being typed. */
  focused?: string;
}

/** An INTERACTION_CREATE `d`, with the fields discord.js 14 insists on (see notes/discord.md). */
export function interactionPayload(context: InteractionPayloadContext) {
  const { guild, input, member, channelId, focused } = context;
  const channel = guild.channels.find((candidate) => candidate.id === channelId);
  if (!channel) throw new Error(`fake Discord: no channel ${channelId} in the fake guild`);
  const type = focused === undefined ? InteractionType.ApplicationCommand : InteractionType.ApplicationCommandAutocomplete;
  const { options, resolved } = buildOptions(context);

  return {
    id: context.id,
    application_id: context.applicationId,
    type,
    token: context.token,
    version: 1,
    data: {
      id: context.command?.id ?? '0',
      name: input.command,
      type: ApplicationCommandType.ChatInput,
      ...(context.command?.guild_id ? { guild_id: context.command.guild_id } : {}),
      options,
      ...(resolved ? { resolved } : {}),
    },
    ...guildInteractionFields(guild, channel, member, input.attachmentSizeLimit),
  };
}

/** The fields every interaction in a guild channel carries, whatever its type. */
function guildInteractionFields(guild: GuildState, channel: GuildState['channels'][number], member: FakeMember, attachmentSizeLimit: number | undefined) {
  return {
    guild_id: guild.id,
    guild: { id: guild.id, locale: 'en-US', features: [] },
    channel: channelPayload(guild, channel),
    channel_id: channel.id,
    member: interactionMemberPayload(guild, member),
    // The bot's own permissions in the channel, as a string bitfield.
    app_permissions: BOT_PERMISSIONS.toString(),
    locale: 'en-US',
    guild_locale: 'en-US',
    entitlements: [],
    // Key "0" = GUILD_INSTALL, value = the guild id (interactions: authorizing integration owners).
    authorizing_integration_owners: { '0': guild.id },
    context: InteractionContextType.Guild,
    attachment_size_limit: attachmentSizeLimit ?? 10 * 1024 * 1024,
  };
}

/** What a button press needs besides the common interaction fields. */
export interface ComponentPayloadContext {
  guild: GuildState;
  applicationId: string;
  id: string;
  token: string;
  member: FakeMember;
  channelId: string;
  customId: string;
  /** The pressed message as the message object (messagePayload). */
  message: Record<string, unknown>;
  attachmentSizeLimit?: number;
}

/**
 * INTERACTION_CREATE for a button press: type 3 MESSAGE_COMPONENT with `data.custom_id` and
 * `data.component_type` 2, the message pressed on, and the pressing member with its permissions
 * (interactions/receiving-and-responding#interaction-object).
 */
export function componentInteractionPayload(context: ComponentPayloadContext) {
  const { guild, member, channelId } = context;
  const channel = guild.channels.find((candidate) => candidate.id === channelId);
  if (!channel) throw new Error(`fake Discord: no channel ${channelId} in the fake guild`);
  return {
    id: context.id,
    application_id: context.applicationId,
    type: InteractionType.MessageComponent,
    token: context.token,
    version: 1,
    data: { custom_id: context.customId, component_type: 2 },
    message: context.message,
    ...guildInteractionFields(guild, channel, member, context.attachmentSizeLimit),
  };
}

interface CommandOption {
  type: number;
  name: string;
  value?: string | number | boolean;
  focused?: boolean;
  options?: CommandOption[];
}

type Resolved = Record<'users' | 'members' | 'channels' | 'roles', Record<string, unknown>>;

/**
 * `data.options` nests leaf options under the subcommand, and the subcommand under its group:
 * [{type: 2, name: group, options: [{type: 1, name: sub, options: [leaves]}]}].
 */
function buildOptions(context: InteractionPayloadContext): { options: CommandOption[]; resolved?: Resolved } {
  const { input, focused } = context;
  const definitions = leafDefinitions(context.command, input.subcommandGroup, input.subcommand);
  const resolved: Resolved = { users: {}, members: {}, channels: {}, roles: {} };
  const values = { ...input.options };
  if (focused !== undefined && !(focused in values)) values[focused] = '';

  let options: CommandOption[] = Object.entries(values).map(([name, raw]) => {
    const type = definitions.find((definition) => definition.name === name)?.type ?? inferType(raw);
    if (name === focused) return { type, name, value: String(raw), focused: true };
    resolveOption(context, type, name, String(raw), resolved);
    return { type, name, value: coerce(type, raw) };
  });
  if (input.subcommand) options = [{ type: ApplicationCommandOptionType.Subcommand, name: input.subcommand, options }];
  if (input.subcommandGroup) {
    options = [{ type: ApplicationCommandOptionType.SubcommandGroup, name: input.subcommandGroup, options }];
  }
  const hasResolved = Object.values(resolved).some((entries) => Object.keys(entries).length > 0);
  return hasResolved ? { options, resolved } : { options };
}

function leafDefinitions(
  command: RegisteredCommand | undefined,
  group: string | undefined,
  subcommand: string | undefined,
): Array<{ name: string; type: number }> {
  let options = asOptionList(command?.options);
  if (group) options = asOptionList(options.find((option) => option.name === group)?.options);
  if (subcommand) options = asOptionList(options.find((option) => option.name === subcommand)?.options);
  return options;
}

function asOptionList(value: unknown): Array<{ name: string; type: number; options?: unknown }> {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (option): option is { name: string; type: number; options?: unknown } =>
      isRecord(option) && typeof option.name === 'string' && typeof option.type === 'number',
  );
}

function inferType(value: string | number | boolean): number {
  if (typeof value === 'boolean') return ApplicationCommandOptionType.Boolean;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? ApplicationCommandOptionType.Integer : ApplicationCommandOptionType.Number;
  }
  return ApplicationCommandOptionType.String;
}

function coerce(type: number, value: string | number | boolean): string | number | boolean {
  switch (type) {
    case ApplicationCommandOptionType.Integer:
    case ApplicationCommandOptionType.Number:
      return Number(value);
    case ApplicationCommandOptionType.Boolean:
      return value === true || value === 'true';
    default:
      return String(value);
  }
}

/** Entity options carry an id; Discord ships the entity itself in `data.resolved` (discord.js reads it there). */
function resolveOption(context: InteractionPayloadContext, type: number, name: string, id: string, resolved: Resolved) {
  const { guild, member: invoker } = context;
  const fail = (what: string) => new Error(`fake Discord: option "${name}": no ${what} ${id} in the fake guild`);
  switch (type) {
    case ApplicationCommandOptionType.Channel: {
      const channel = guild.channels.find((candidate) => candidate.id === id);
      if (!channel) throw fail('channel');
      resolved.channels[id] = resolvedChannelPayload(guild, channel, invoker.permissions);
      return;
    }
    case ApplicationCommandOptionType.Role: {
      const role = guild.roles.find((candidate) => candidate.id === id);
      if (!role) throw fail('role');
      resolved.roles[id] = rolePayload(role);
      return;
    }
    case ApplicationCommandOptionType.User:
    case ApplicationCommandOptionType.Mentionable: {
      const role = guild.roles.find((candidate) => candidate.id === id);
      if (role && type === ApplicationCommandOptionType.Mentionable) {
        resolved.roles[id] = rolePayload(role);
        return;
      }
      const member = guild.members.get(id);
      if (!member) throw fail('member');
      resolved.users[id] = userPayload(memberUser(member));
      // Resolved members omit user, deaf and mute (interactions: resolved data structure).
      const { user: _user, deaf: _deaf, mute: _mute, ...partial } = interactionMemberPayload(guild, member);
      resolved.members[id] = partial;
      return;
    }
    default:
      return;
  }
}
