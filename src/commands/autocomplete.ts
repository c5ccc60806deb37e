/** Discord shows at most 25 suggestions. */
const MAX_CHOICES = 25;

/** Values containing what the member typed (case-insensitive), as autocomplete choices. */
export function suggest(values: readonly string[], typed: string): Array<{ name: string; value: string }> {
  const needle = typed.trim().replace(/^@/, '').toLowerCase();
  return values
    .filter((v) => v.toLowerCase().includes(needle))
    .slice(0, MAX_CHOICES)
    .map((v) => ({ name: v.slice(0, 100), value: v.slice(0, 100) }));
}
