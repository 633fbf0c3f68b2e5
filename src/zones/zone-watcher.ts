/**
 * Reloads a zone when its master file changes, without a SIGHUP: the file's directory is
 * watched (editors and deploy tools replace files by rename, which a watch on the file itself
 * would lose), events are debounced (a write often comes as several), the file is read and
 * checked again, and a good zone replaces the running one whole. A bad file is refused with its
 * file, line and reason; the running zone stays. Zones given inline (`records`) are not watched.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ZoneFileError } from './zone-file.js';
import { type LoadedZone, loadZone } from './zone-set.js';

/** Events for one file closer together than this are one change. */
export const ZONE_RELOAD_DEBOUNCE_MS = 200;

export interface ZoneWatcherEvents {
  /** The zones now, whole, with the changed ones replaced: to be served from now on. */
  reloaded(zones: LoadedZone[], changed: string[]): void;
  /** A changed file was refused: its zone, and the error naming the file, line and reason. */
  refused(zone: string, error: Error): void;
}

export class ZoneWatcher {
  private readonly watchers: FSWatcher[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private zones: LoadedZone[];

  constructor(
    zones: readonly LoadedZone[],
    private readonly events: ZoneWatcherEvents,
    private readonly debounceMs = ZONE_RELOAD_DEBOUNCE_MS,
  ) {
    this.zones = [...zones];
  }

  start(): void {
    // Files by directory: one watch per directory, however many zones live there.
    const byDir = new Map<string, Set<string>>();
    for (const z of this.zones) {
      if (z.source === 'records') continue;
      const file = resolve(z.source);
      const names = byDir.get(dirname(file)) ?? new Set<string>();
      names.add(basename(file));
      byDir.set(dirname(file), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          // Some platforms give no name: every zone file of the directory is read again.
          const changed = name === null ? [...names] : names.has(String(name)) ? [String(name)] : [];
          for (const n of changed) this.schedule(resolve(dir, n));
        });
        w.on('error', () => w.close());
        this.watchers.push(w);
      } catch (err) {
        for (const n of names)
          this.events.refused(
            this.zones.find((z) => z.source !== 'records' && resolve(z.source) === resolve(dir, n))?.name ?? n,
            new Error(`cannot watch ${dir}: ${(err as Error).message}`),
          );
      }
    }
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(file: string): void {
    clearTimeout(this.timers.get(file));
    const timer = setTimeout(() => {
      this.timers.delete(file);
      this.reload(file);
    }, this.debounceMs);
    timer.unref();
    this.timers.set(file, timer);
  }

  /** Reads the file again for every zone served from it (views of one zone may share a file). */
  private reload(file: string): void {
    const next = [...this.zones];
    const changed: string[] = [];
    next.forEach((z, i) => {
      if (z.source === 'records' || resolve(z.source) !== file) return;
      let loaded: LoadedZone;
      try {
        loaded = loadZone({ name: z.name, file: z.source, balance: z.balance, view: z.view });
      } catch (err) {
        // A file half written or deleted for a moment is refused like a bad one; the next event reads it again.
        this.events.refused(
          z.name,
          err instanceof ZoneFileError ? err : new Error(`cannot read ${z.source}: ${(err as Error).message}`),
        );
        return;
      }
      // A file touched but not changed (a save without edits) is not a reload.
      if (JSON.stringify(loaded.records) === JSON.stringify(z.records)) return;
      next[i] = loaded;
      changed.push(z.name);
    });
    if (changed.length === 0) return;
    this.zones = next;
    this.events.reloaded(next, changed);
  }
}
