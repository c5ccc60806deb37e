import { InteractionContextType, PermissionFlagsBits, type PermissionsBitField } from 'discord.js';

/**
 * The bot's own permission check. `default_member_permissions` only sets a default that server admins
 * can override per command, so every interaction is checked again here: Manage Server, or the guild's
 * configured moderator role.
 */
export function isAllowed(input: {
  permissions: Readonly<PermissionsBitField> | null;
  roleIds: readonly string[];
  moderatorRoleId: string | undefined;
}): boolean {
  if (input.permissions?.has(PermissionFlagsBits.ManageGuild)) return true;
  return input.moderatorRoleId !== undefined && input.roleIds.includes(input.moderatorRoleId);
}

interface PermissionedBuilder {
  setDefaultMemberPermissions(permissions: bigint): unknown;
  setContexts(...contexts: InteractionContextType[]): unknown;
}

/**
 * Every command defaults to members with Manage Server and exists only in servers. The permission is only
 * a default (server admins can override it), so the router checks again in the bot.
 */
export function forModerators<T extends PermissionedBuilder>(builder: T): T {
  builder.setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild);
  builder.setContexts(InteractionContextType.Guild);
  return builder;
}
