/**
 * The fake guild's state and the JSON shapes Discord uses for it. Shapes follow discord-api-docs
 * (resources/user, guild, channel, message) closely enough that discord.js 14 builds full structures
 * from them; fields discord.js does not read are still filled so bot code that logs them sees real values.
 */
import { ChannelType, PermissionFlagsBits } from 'discord.js';

/** A member as tests describe one; see discord-server.ts for the public docs. */
export interface FakeMember {
  id: string;
  username: string;
  permissions: bigint;
  roles?: string[];
}

/** Discord's epoch (2015-01-01T00:00:00Z); a snowflake's top 42 bits are milliseconds since it. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/** Real-looking, strictly increasing snowflakes, so discord.js can read createdAt from every id. */
export class SnowflakeFactory {
  #increment = 0n;

  next(): string {
    const sinceEpoch = BigInt(Date.now()) - DISCORD_EPOCH_MS;
    // https://discord.com/developers/docs/reference#snowflakes: timestamp << 22 | worker | process | increment
    const id = (sinceEpoch << 22n) | (this.#increment & 0xfffn);
    this.#increment += 1n;
    return id.toString();
  }
}

export interface FakeChannel {
  id: string;
  name: string;
  position: number;
  lastMessageId: string | null;
  /** Permissions @everyone is denied here (an announcements-only channel, say). */
  everyoneDeny?: bigint;
}

export interface FakeRole {
  id: string;
  name: string;
  position: number;
  permissions: bigint;
  isManaged: boolean;
  botId?: string;
}

export interface FakeUser {
  id: string;
  username: string;
  isBot: boolean;
}

/** Everything the fake knows about its single guild. Mutable on purpose: it is the server's state. */
export interface GuildState {
  id: string;
  name: string;
  ownerId: string;
  premiumTier: 0 | 1 | 2 | 3;
  joinedAt: string;
  channels: FakeChannel[];
  roles: FakeRole[];
  bot: FakeUser;
  /** Everyone who can appear in an interaction or be fetched, keyed by id (the bot is separate). */
  members: Map<string, FakeMember>;
}

/** Discord's default @everyone permissions for a new server, enough to read and post. */
const EVERYONE_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.AddReactions |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.UseApplicationCommands;

/** What the bot's invite asks for: post alerts with embeds and clips. */
export const BOT_PERMISSIONS =
  EVERYONE_PERMISSIONS | PermissionFlagsBits.SendMessagesInThreads | PermissionFlagsBits.UseExternalEmojis;

/** The default member of interact(): may do everything the bot gates on Manage Server. */
export const ADMIN_PERMISSIONS = PermissionFlagsBits.Administrator | PermissionFlagsBits.ManageGuild;

export function createGuildState(ids: SnowflakeFactory, applicationId: string): GuildState {
  const guildId = ids.next();
  const admin: FakeMember = { id: ids.next(), username: 'guild-admin', permissions: ADMIN_PERMISSIONS };
  return {
    id: guildId,
    name: 'Fake Clip Guild',
    ownerId: admin.id,
    premiumTier: 0,
    joinedAt: new Date().toISOString(),
    channels: [
      { id: ids.next(), name: 'general', position: 0, lastMessageId: null },
      { id: ids.next(), name: 'clip-alerts', position: 1, lastMessageId: null },
      // Read-only for everyone, the bot included: where a clip bot cannot post.
      {
        id: ids.next(),
        name: 'rules',
        position: 2,
        lastMessageId: null,
        everyoneDeny: PermissionFlagsBits.SendMessages | PermissionFlagsBits.AttachFiles,
      },
    ],
    roles: [
      // The @everyone role shares the guild's id (discord-api-docs: topics/permissions#role-object).
      { id: guildId, name: '@everyone', position: 0, permissions: EVERYONE_PERMISSIONS, isManaged: false },
      // Deliberately without Manage Server: the bot's `/settings role` is what lets moderators in.
      {
        id: ids.next(),
        name: 'Moderator',
        position: 1,
        permissions: EVERYONE_PERMISSIONS | PermissionFlagsBits.ManageMessages | PermissionFlagsBits.KickMembers,
        isManaged: false,
      },
      // Discord creates a managed role for a bot invited with permissions (tags.bot_id marks it).
      {
        id: ids.next(),
        name: 'Clip Bot',
        position: 2,
        permissions: BOT_PERMISSIONS,
        isManaged: true,
        botId: applicationId,
      },
    ],
    // Bots created since 2020 have a user id equal to their application id.
    bot: { id: applicationId, username: 'Clip Bot', isBot: true },
    members: new Map([[admin.id, admin]]),
  };
}

export function defaultMember(guild: GuildState): FakeMember {
  const owner = guild.members.get(guild.ownerId);
  if (!owner) throw new Error('fake Discord: the guild owner vanished from the member list');
  return owner;
}

export function userPayload(user: FakeUser) {
  return {
    id: user.id,
    username: user.username,
    // Usernames migrated to unique names: discriminator "0" (discord-api-docs: resources/user).
    discriminator: '0',
    global_name: user.isBot ? null : user.username,
    avatar: null,
    bot: user.isBot,
    system: false,
    public_flags: 0,
    flags: 0,
    banner: null,
    accent_color: null,
    avatar_decoration_data: null,
  };
}

export function memberUser(member: FakeMember): FakeUser {
  return { id: member.id, username: member.username, isBot: false };
}

function guildMemberPayload(user: FakeUser, roles: string[], joinedAt: string) {
  return {
    user: userPayload(user),
    nick: null,
    avatar: null,
    banner: null,
    roles,
    joined_at: joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
  };
}

export function memberPayload(guild: GuildState, member: FakeMember) {
  return guildMemberPayload(memberUser(member), member.roles ?? [], guild.joinedAt);
}

/** Interaction members also carry their computed permissions in the channel (as a string bitfield). */
export function interactionMemberPayload(guild: GuildState, member: FakeMember) {
  return { ...memberPayload(guild, member), permissions: member.permissions.toString() };
}

export function botMemberPayload(guild: GuildState) {
  const botRoles = guild.roles.filter((role) => role.botId === guild.bot.id).map((role) => role.id);
  return guildMemberPayload(guild.bot, botRoles, guild.joinedAt);
}

export function rolePayload(role: FakeRole) {
  return {
    id: role.id,
    name: role.name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: role.isManaged,
    mentionable: false,
    flags: 0,
    ...(role.botId ? { tags: { bot_id: role.botId } } : {}),
  };
}

export function channelPayload(guild: GuildState, channel: FakeChannel) {
  return {
    id: channel.id,
    type: ChannelType.GuildText,
    guild_id: guild.id,
    name: channel.name,
    position: channel.position,
    permission_overwrites: channel.everyoneDeny
      ? [{ id: guild.id, type: 0, allow: '0', deny: String(channel.everyoneDeny) }]
      : [],
    topic: null,
    nsfw: false,
    last_message_id: channel.lastMessageId,
    rate_limit_per_user: 0,
    parent_id: null,
    last_pin_timestamp: null,
    flags: 0,
  };
}

/** The partial channel of an interaction's `resolved.channels`, with the invoker's permissions. */
export function resolvedChannelPayload(guild: GuildState, channel: FakeChannel, permissions: bigint) {
  const { id, type, name, parent_id, nsfw, flags } = channelPayload(guild, channel);
  return { id, type, name, parent_id, nsfw, flags, guild_id: guild.id, permissions: permissions.toString() };
}

/**
 * Server boosts needed for each tier (discord-api-docs: premium tiers); discord.js shows the count as
 * guild.premiumSubscriptionCount.
 */
const BOOSTS_FOR_TIER = [0, 2, 7, 14] as const;

/** The guild object of GET /guilds/:id and GUILD_UPDATE. */
export function guildPayload(guild: GuildState) {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    icon_hash: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: guild.roles.map(rolePayload),
    emojis: [],
    stickers: [],
    features: [] as string[],
    mfa_level: 0,
    application_id: null,
    system_channel_id: guild.channels[0]?.id ?? null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    max_presences: null,
    max_members: 500_000,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: guild.premiumTier,
    premium_subscription_count: BOOSTS_FOR_TIER[guild.premiumTier],
    premium_progress_bar_enabled: false,
    preferred_locale: 'en-US',
    nsfw_level: 0,
    incidents_data: null,
  };
}

/**
 * GUILD_CREATE = the guild object plus the gateway-only fields (discord-api-docs: events/gateway-events
 * #guild-create). With the Guilds intent Discord sends the bot's own member, which discord.js needs for
 * guild.members.me and permission checks.
 */
export function guildCreatePayload(guild: GuildState) {
  return {
    ...guildPayload(guild),
    joined_at: guild.joinedAt,
    large: false,
    unavailable: false,
    member_count: guild.members.size + 1,
    voice_states: [],
    members: [botMemberPayload(guild)],
    channels: guild.channels.map((channel) => channelPayload(guild, channel)),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

/** The user object of READY and GET /users/@me: the bot account itself. */
export function botSelfPayload(guild: GuildState) {
  return { ...userPayload(guild.bot), verified: true, mfa_enabled: false, email: null, locale: 'en-US' };
}
