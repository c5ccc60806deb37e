import { PermissionFlagsBits, type PermissionsBitField } from 'discord.js';

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
