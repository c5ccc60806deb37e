/**
 * What survives a crash mid-clip. Each moment in flight has one small JSON file, rewritten as the clip
 * moves on (waiting → saved by OBS → filed) and deleted once every guild was told. After a crash or a
 * kill, the files left behind say which moments never got their alert and where their video is, so the
 * next start can finish them instead of leaving a clip nobody hears about.
 *
 * Files, not the settings store: a write is one small file replaced atomically (write, then rename), it
 * needs no lock shared with commands, and it sits next to the clips it describes.
 */
import { mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../util/text.js';
import type { Trigger, Triggers } from '../triggers/trigger.js';

/** The journal's folder inside CLIPS_DIR. TikTok usernames cannot hold `-`, so no streamer folder is named so. */
export const JOURNAL_FOLDER = '.in-flight';

export interface JournalEntry {
  readonly clipId: string;
  readonly triggers: Triggers;
  /** Where OBS wrote the replay, once it said so. */
  readonly obsPath?: string;
  /** `obsPath` is another moment's filed clip (a shared OBS save): recovery links or copies it, never moves it. */
  readonly isSourceShared?: boolean;
  readonly savedAt?: Date;
  /** Where the clip was filed, once it was. */
  readonly filedPath?: string;
}

type StoredEntry = Omit<JournalEntry, 'triggers' | 'savedAt'> & {
  readonly triggers: ReadonlyArray<Omit<Trigger, 'at'> & { readonly at: string }>;
  readonly savedAt?: string;
};

export class ClipJournal {
  private readonly dir: string;
  /** Writes per clip run one after another, so an older state never lands after a newer one. */
  private readonly writes = new Map<string, Promise<void>>();
  /** The folder is made once, not before every write; a failed attempt is tried again next time. */
  private folderMade: Promise<unknown> | undefined;

  /**
   * `allowedRoots`: the folders a journalled clip may lie in (CLIPS_DIR, OBS's recording folder). An
   * entry naming any other file (a planted `../.env`, say) is refused and set aside, so recovery can
   * never be made to upload it. CLIPS_DIR is always allowed.
   */
  constructor(
    private readonly clipsDir: string,
    private readonly log: Logger,
    private readonly options: { allowedRoots?: () => readonly string[] } = {},
  ) {
    this.dir = path.join(clipsDir, JOURNAL_FOLDER);
  }

  /**
   * Records the entry's current state. Never rejects: a journal that cannot be written (disk full,
   * permissions) is logged, and the clip goes on without it.
   */
  record(entry: JournalEntry): Promise<void> {
    return this.enqueue(entry.clipId, async () => {
      try {
        this.folderMade ??= mkdir(this.dir, { recursive: true });
        await this.folderMade;
        const file = this.fileOf(entry.clipId);
        const temp = `${file}.tmp`;
        await writeFile(temp, JSON.stringify(toStored(entry)));
        await rename(temp, file);
      } catch (err) {
        this.folderMade = undefined; // the folder may be gone: make it again next time
        throw err;
      }
    });
  }

  /** The moment is settled and every guild was told: forget it. Never rejects. */
  finish(clipId: string): Promise<void> {
    return this.enqueue(clipId, async () => {
      await rm(this.fileOf(clipId), { force: true });
      await rm(`${this.fileOf(clipId)}.tmp`, { force: true });
    });
  }

  /** Moments a previous run left unfinished. Unreadable files are logged and set aside, never fatal. */
  async unfinished(): Promise<JournalEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return []; // no journal yet: nothing was ever in flight
    }
    // A .tmp is a write cut short; the .json beside it (if any) still holds the state before it.
    await Promise.all(names.filter((n) => n.endsWith('.tmp')).map((n) => rm(path.join(this.dir, n), { force: true })));
    const entries: JournalEntry[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const file = path.join(this.dir, name);
      let entry: JournalEntry;
      try {
        entry = fromStored(JSON.parse(await readFile(file, 'utf8')) as StoredEntry);
      } catch (err) {
        this.log.error({ file, err: errorMessage(err) }, 'unreadable clip journal entry; renamed it to .bad');
        await rename(file, `${file}.bad`).catch(() => undefined);
        continue;
      }
      const outside = await this.pathOutsideRoots(entry);
      if (outside !== undefined) {
        this.log.error({ file, path: outside }, 'clip journal entry names a file outside the clips and OBS folders; refused, renamed it to .refused');
        await rename(file, `${file}.refused`).catch(() => undefined);
        continue;
      }
      entries.push(entry);
    }
    return entries;
  }

  /** The first path the entry names that lies outside every allowed root (symlinks followed), if any. */
  private async pathOutsideRoots(entry: JournalEntry): Promise<string | undefined> {
    const roots = [this.clipsDir, ...(this.options.allowedRoots?.() ?? [])].map((root) => path.resolve(root));
    const realRoots = await Promise.all(roots.map((root) => realpath(root).catch(() => root)));
    for (const named of [entry.obsPath, entry.filedPath]) {
      if (named === undefined) continue;
      const lexical = path.resolve(this.clipsDir, named);
      // A file that exists is judged by where it really is: a link inside CLIPS_DIR to .env is refused too.
      const real = await realpath(lexical).catch(() => undefined);
      const isInside = (file: string, within: readonly string[]) => within.some((root) => isWithin(file, root));
      if (!isInside(lexical, roots) && !isInside(lexical, realRoots)) return named;
      if (real !== undefined && !isInside(real, realRoots) && !isInside(real, roots)) return named;
    }
    return undefined;
  }

  private fileOf(clipId: string): string {
    // Clip ids are our own UUIDs; the check keeps a bad id from ever naming a path outside the folder.
    if (!/^[\w-]+$/.test(clipId)) throw new Error(`not a clip id: ${clipId}`);
    return path.join(this.dir, `${clipId}.json`);
  }

  private enqueue(clipId: string, write: () => Promise<void>): Promise<void> {
    const previous = this.writes.get(clipId) ?? Promise.resolve();
    const next = previous.then(write).catch((err: unknown) => {
      this.log.error({ clipId, err: errorMessage(err) }, 'could not update the clip journal');
    });
    this.writes.set(clipId, next);
    void next.then(() => {
      if (this.writes.get(clipId) === next) this.writes.delete(clipId);
    });
    return next;
  }
}

function isWithin(file: string, root: string): boolean {
  const relative = path.relative(root, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

function toStored({ savedAt, triggers, ...rest }: JournalEntry): StoredEntry {
  return {
    ...rest,
    triggers: triggers.map((t) => ({ ...t, at: t.at.toISOString() })),
    ...(savedAt ? { savedAt: savedAt.toISOString() } : {}),
  };
}

function fromStored(stored: StoredEntry): JournalEntry {
  const triggers: readonly unknown[] = Array.isArray(stored.triggers) ? stored.triggers : [];
  const [first, ...others] = triggers;
  if (typeof stored.clipId !== 'string' || first === undefined) throw new Error('not a journal entry');
  return {
    clipId: stored.clipId,
    triggers: [readTrigger(first), ...others.map(readTrigger)],
    ...(typeof stored.obsPath === 'string' ? { obsPath: stored.obsPath } : {}),
    ...(stored.isSourceShared === true ? { isSourceShared: true } : {}),
    ...(typeof stored.filedPath === 'string' ? { filedPath: stored.filedPath } : {}),
    ...(typeof stored.savedAt === 'string' ? { savedAt: new Date(stored.savedAt) } : {}),
  };
}

function readTrigger(raw: unknown): Trigger {
  const t = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<keyof Trigger, unknown>>;
  const at = new Date(typeof t.at === 'string' ? t.at : Number.NaN);
  const texts = [t.guildId, t.streamer, t.chatter, t.keyword, t.message];
  if (!texts.every((text) => typeof text === 'string') || typeof t.isManual !== 'boolean' || Number.isNaN(at.getTime())) {
    throw new Error('not a journal entry: bad trigger');
  }
  return {
    guildId: t.guildId as string,
    streamer: t.streamer as string,
    chatter: t.chatter as string,
    keyword: t.keyword as string,
    message: t.message as string,
    at,
    isManual: t.isManual,
    ...(typeof t.note === 'string' ? { note: t.note } : {}),
  };
}
