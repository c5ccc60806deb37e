/**
 * Typed listeners by event name, for the adapters' `on(event, listener) => unsubscribe` ports.
 *
 * A listener that throws is reported through `onError` and the others still run: one buggy listener
 * must not stop the rest, nor break the library loop (a socket's frames, OBS's events) that emits.
 */
export class Listeners<Events extends { [E in keyof Events]: (...args: never[]) => void }> {
  readonly #byEvent = new Map<keyof Events, Set<Events[keyof Events]>>();

  constructor(private readonly onError: (err: unknown, event: keyof Events) => void) {}

  /** Adds `listener`; the returned function removes it (calling it twice is harmless). */
  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.#byEvent.get(event);
    if (!set) this.#byEvent.set(event, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of this.#byEvent.get(event) ?? []) {
      try {
        (listener as (...a: Parameters<Events[E]>) => void)(...args);
      } catch (err) {
        this.onError(err, event);
      }
    }
  }

  /** How many listeners are registered, over all events (tests check that nothing leaks). */
  get count(): number {
    let count = 0;
    for (const set of this.#byEvent.values()) count += set.size;
    return count;
  }

  clear(): void {
    this.#byEvent.clear();
  }
}
