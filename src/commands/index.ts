import type { Command } from '../discord/command.js';
import { clipCommand } from './clip.js';
import { clipsCommand } from './clips.js';
import { keywordCommand } from './keyword.js';
import { logsCommand } from './logs.js';
import { settingsCommand } from './settings.js';
import { statusCommand } from './status.js';
import { streamCommand } from './stream.js';
import { triggerCommand } from './trigger.js';

/** Every slash command, in the order Discord lists them. Registration and routing both use this list. */
export const commands: readonly Command[] = [
  streamCommand,
  keywordCommand,
  triggerCommand,
  clipCommand,
  settingsCommand,
  statusCommand,
  logsCommand,
  clipsCommand,
];
