import { SlashCommandBuilder } from 'discord.js';
import type { NodeRecord } from '../discord/cluster-view.js';
import { describeStream, isStateName, stateLabel } from '../discord/format.js';
import { escapeMarkdown, joinLines, relativeTime } from '../util/markdown.js';
import type { StreamMonitor } from '../monitor/stream-monitor.js';
import type { Command } from '../discord/command.js';
import { forModerators } from '../discord/permissions.js';
import { formatRate } from '../util/rate.js';

export const statusCommand = {
  data: forModerators(new SlashCommandBuilder().setName('status').setDescription('OBS, replay buffer, streams and the last clip')),

  async execute(interaction, { settings, monitor, replayBuffer, store, delivery, streamBuffers, cluster }) {
    const obs = replayBuffer.status();
    const buffer = obs.isBufferActive === undefined ? 'unknown' : obs.isBufferActive ? 'running' : 'stopped';
    const obsError = obs.lastError ? ` — last error: ${obs.lastError}` : '';
    const { streams } = settings.get(interaction.guildId);
    const [lastClip] = await store.recentClips(interaction.guildId, { limit: 1 });
    const nodes = cluster ? await cluster.nodes() : undefined;
    // In a cluster a live's state is known on the node holding it, which says so in its record.
    const describe = (username: string): string => {
      const here = describeStream({ settings, monitor, streamBuffers }, interaction.guildId, username, chatRateText(monitor.chatRate(username)));
      if (!cluster || !nodes) return here;
      const holder = nodes.find((n) => username in n.lives);
      if (!holder) return '⚪ waiting for a node';
      if (holder.id === cluster.nodeId) return `${here} · on this node`;
      return `${labelOf(holder.lives[username] ?? '')} · on node ${codeSpan(holder.id)}`;
    };
    const lines = [
      `**OBS:** ${obs.connection} since ${relativeTime(obs.since)}${obsError}`,
      `**Replay buffer:** ${buffer}`,
      connectBudgetText(monitor.connectBudgetInfo()),
      // Before the streams: a long stream list is cut at the message limit, the nodes are not.
      ...(nodes ? nodesText(nodes, cluster?.nodeId) : []),
      `**Streams (${streams.length}):**`,
      ...(streams.length === 0 ? ['none yet — `/stream add`'] : streams.map((s) => `• @${escapeMarkdown(s.username)} — ${describe(s.username)}`)),
      `**Last clip:** ${lastClip ? `\`${lastClip.fileName}\` ${relativeTime(new Date(lastClip.at))} by ${escapeMarkdown(lastClip.triggeredBy)}` : 'none yet'}`,
      // Channels the outbox cannot deliver to: their posts wait (never dropped) until fixed.
      ...delivery.problems(interaction.guildId).map(
        (p) => `**Cannot post in <#${p.channelId}>** since ${relativeTime(p.since)}: ${p.reason}. ${p.waiting} post${p.waiting === 1 ? '' : 's'} waiting; fix the bot's permissions there or use \`/settings channel\`.`,
      ),
      ...waitingText(delivery.waitingForAlertChannel(interaction.guildId)),
    ];
    await interaction.reply({ content: joinLines(lines), allowedMentions: { parse: [] } });
  },
} satisfies Command;

/** The cluster's nodes: host, lives, capture load, last seen, where its clips are filed. */
function nodesText(nodes: readonly NodeRecord[], selfId: string | undefined): string[] {
  return [
    `**Nodes (${nodes.length}):**`,
    ...nodes.map((n) => {
      const roles = [n.isGateway ? 'gateway' : '', n.id === selfId ? 'this node' : ''].filter(Boolean).join(', ');
      const lives = Object.keys(n.lives).length;
      return `• ${codeSpan(n.id)}${roles ? ` (${roles})` : ''} — ${escapeMarkdown(n.host)}, ${lives} live${lives === 1 ? '' : 's'}, ${n.buffers} buffering, seen ${relativeTime(new Date(n.seenAt))}, clips in \`${n.clipsDir}\``;
    }),
  ];
}

/** Node ids (host names) as code, so a `-` or `_` in them reads as typed. */
function codeSpan(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function labelOf(state: string): string {
  return isStateName(state) ? stateLabel(state) : escapeMarkdown(state);
}

/** "**TikTok connects:** 120/min, 1000/h (from the signing service); 2 queued". */
function connectBudgetText(info: ReturnType<StreamMonitor['connectBudgetInfo']>): string {
  const unit = (ms: number) => (ms === 60_000 ? 'min' : ms === 3_600_000 ? 'h' : ms === 86_400_000 ? 'day' : `${Math.round(ms / 1000)} s`);
  const windows = info.windows.map((w) => `${w.limit}/${unit(w.windowMs)}`).join(', ');
  const queued = info.queued > 0 ? `; ${info.queued} queued` : '';
  return `**TikTok connects:** ${windows} (${info.source === 'fixed' ? 'set by hand' : info.source})${queued}`;
}

/** The stream's chat pace over the last 5 s, as the hype trigger sees it. */
function chatRateText(perSecond: number | undefined): string {
  if (perSecond === undefined) return '';
  return ` — chat ${formatRate(perSecond)} msgs/s`;
}

/** Posts with nowhere to go yet: no alert channel, and no stream whose channel they could take. */
function waitingText(count: number): string[] {
  if (count === 0) return [];
  return [`**${count} alert${count === 1 ? '' : 's'} waiting for an alert channel:** set one with \`/settings channel\` and ${count === 1 ? 'it goes' : 'they go'} out there.`];
}
