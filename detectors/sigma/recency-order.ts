/**
 * Keys in the order they were last touched, oldest first, with their values: the least
 * recently used end of an LRU cache, for choosing what to evict.
 */
export class RecencyOrder<V> {
  readonly #entries = new Map<string, V>()
  /**
   * Kept between calls to `shift`: a fresh iterator skips every deleted slot at the start of
   * the map's table, so evicting a million keys from a map of 100 000, one at a time, took 30 s
   * instead of half a second. Everything before this cursor has been shifted out (a key touched
   * again moves to the end, after it), so its next entry is always the oldest.
   */
  #cursor = this.#entries.entries()

  get size(): number {
    return this.#entries.size
  }

  get(key: string): V | undefined {
    return this.#entries.get(key)
  }

  /** Puts the key at the most recent end, added or moved. */
  touch(key: string, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
  }

  delete(key: string): boolean {
    return this.#entries.delete(key)
  }

  /** Removes and returns the least recently touched entry. */
  shift(): [string, V] | undefined {
    let next = this.#cursor.next()
    if (next.done) {
      this.#cursor = this.#entries.entries()
      next = this.#cursor.next()
    }
    if (next.done) return undefined
    this.#entries.delete(next.value[0])
    return next.value
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys()
  }

  values(): IterableIterator<V> {
    return this.#entries.values()
  }

  clear(): void {
    this.#entries.clear()
    this.#cursor = this.#entries.entries()
  }
}
