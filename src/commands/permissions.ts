import { InteractionContextType, PermissionFlagsBits } from 'discord.js';

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
