import { AttachmentBuilder, type Client, type Message } from 'discord.js';
import { UserError } from '../util/errors.js';
import { cleanMessage } from '../util/text.js';
import { uploadLimitForTier } from './clip-message.js';
import type { FitCache } from './fit-cache.js';

/**
 * Posts a kept clip to the server's highlights channel (fitted to its upload limit like an alert). The
 * nonce with enforce_nonce makes a repeat (a double press racing in two bots, a retry after a lost answer)
 * return the message Discord already made instead of a second one.
 */
export function highlightPoster(client: Client, fits: FitCache) {
  return async (_guildId: string, channelId: string, clip: { path: string; fileName: string; text: string; nonce: string }): Promise<string> => {
    const channel = await client.channels.fetch(channelId).catch(() => null);
    if (!channel?.isSendable()) {
      throw new UserError('NOT_FOUND', `Kept, but I cannot post in the highlights channel <#${channelId}> (set another with \`/settings highlights\`).`);
    }
    const limit = uploadLimitForTier(('guild' in channel ? channel.guild?.premiumTier : undefined) ?? 0);
    const fitted = await fits.fit(clip.path, limit);
    const message = (await channel.send(
      cleanMessage({
        content: clip.text,
        files: [new AttachmentBuilder(fitted.path, { name: clip.fileName })],
        nonce: clip.nonce,
        enforceNonce: true,
        allowedMentions: { parse: [] },
      }),
    )) as Message;
    return message.id;
  };
}
