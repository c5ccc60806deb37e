/** Chats a second as /status and hype alerts show them: whole numbers from 10, one decimal below. */
export function formatRate(perSecond: number): string {
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}
