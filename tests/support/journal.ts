import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { JOURNAL_FOLDER } from '../../src/clips/clip-journal.js';

/** A journal entry as it lies on disk, the fields tests wait on. */
export interface StoredJournalEntry {
  readonly clipId: string;
  readonly obsPath?: string;
  readonly filedPath?: string;
}

/**
 * The moments the clip journal under `clipsDir` holds, read straight from disk without touching the
 * folder (ClipJournal.unfinished() tidies it, which would race a bot still writing). A file caught
 * between write and rename is skipped.
 */
export async function storedJournalEntries(clipsDir: string): Promise<StoredJournalEntry[]> {
  const dir = path.join(clipsDir, JOURNAL_FOLDER);
  const names = (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.json'));
  const entries: StoredJournalEntry[] = [];
  for (const name of names) {
    try {
      entries.push(JSON.parse(await readFile(path.join(dir, name), 'utf8')) as StoredJournalEntry);
    } catch {
      // mid-write: the next read sees it
    }
  }
  return entries;
}
