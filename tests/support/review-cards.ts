import type { PostedMessage } from '../fakes/discord-server.js';

/** The buttons under an alert card, as a member sees them. */
export const buttonsOf = (m: PostedMessage) => m.components.flatMap((row) => row.components);

/** The custom id of the card's button with this label (throws, naming the labels there, when none has it). */
export function buttonId(m: PostedMessage, label: string): string {
  const button = buttonsOf(m).find((b) => b.label === label);
  if (!button?.custom_id) throw new Error(`no ${label} button on the card (has ${buttonsOf(m).map((b) => b.label).join(', ')})`);
  return button.custom_id;
}
