import type { PalisadeEvent } from '../../platform/event-model.ts'
import type { FieldGetter } from './compile-value.ts'
import { foldCase, isAscii } from './fold-case.ts'

/**
 * Per-event memory of field values, shared by every rule of a rule set. Some 1,400 rules look
 * at a Sysmon process creation, most of them at the same few fields (`Image`, `CommandLine`,
 * `ParentImage`); each field is read and case-folded once per event instead of once per value
 * tested. Nothing is allocated per event: each field has one slot, refilled when the rule set
 * moves to the next event (`next`), which is how stale values are told apart.
 */
export class FieldCache {
  /** Bumped once per event; a slot filled under another generation is stale. */
  generation = 0
  private readonly slots = new Map<FieldGetter, FieldSlot>()

  /** Starts a new event: every slot's value is stale from now on. */
  next(): void {
    this.generation++
  }

  /**
   * Whether any leaf value of the event that a keyword search reads (`isSearched`) passes
   * `test`. Keyword rules ask this; dozens of them look at the same syslog event, so its leaves
   * are gathered and case-folded once per event and reused.
   */
  someLeaf(event: PalisadeEvent, test: (leaf: FieldValue) => boolean): boolean {
    const count = this.leaves(event)
    for (let i = 0; i < count; i++) if (test(this.leafPool[i]!)) return true
    return false
  }

  /** Gathers the event's leaves (once per event); they are `leafPool[0..count)`. */
  leaves(event: PalisadeEvent): number {
    if (this.leafGeneration !== this.generation || this.leafEvent !== event) {
      this.leafGeneration = this.generation
      this.leafEvent = event
      this.leafCount = 0
      this.gather(event, true)
    }
    return this.leafCount
  }

  /** The leaves `leaves` gathered; only the first `count` it returned are this event's. */
  readonly leafPool: FieldValue[] = []
  private leafCount = 0
  private leafGeneration = -1
  private leafEvent: PalisadeEvent | undefined = undefined

  private gather(node: unknown, top: boolean): void {
    if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') {
      const leaf = (this.leafPool[this.leafCount] ??= new FieldValue())
      leaf.set(node)
      this.leafCount++
    } else if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) this.gather(node[i], false)
    } else if (node && typeof node === 'object') {
      for (const k in node) {
        if (top && !isSearched(node, k)) continue
        this.gather((node as Record<string, unknown>)[k], false)
      }
    }
  }

  /** The slot of a getter; getters that are the same function share it. */
  slot(get: FieldGetter): FieldSlot {
    let slot = this.slots.get(get)
    if (!slot) {
      slot = new FieldSlot(get, this)
      this.slots.set(get, slot)
    }
    return slot
  }
}

/**
 * A field's value with its text forms, each computed on first use. Sigma compares values as
 * strings unless a numeric modifier says otherwise, so a number's text is its `String`.
 */
export class FieldValue {
  value: unknown = undefined
  /** The value as text for a string, number, boolean or bigint; else undefined. */
  text: string | undefined = undefined
  private lowerText: string | undefined = undefined
  private foldedText: string | undefined = undefined
  private baseText: string | undefined = undefined
  private ascii: boolean | undefined = undefined

  set(value: unknown): this {
    this.value = value
    this.text = scalarText(value)
    this.lowerText = undefined
    this.foldedText = undefined
    this.baseText = undefined
    this.ascii = undefined
    return this
  }

  /** `text.toLowerCase()`; only call when `text` is defined. */
  lower(): string {
    return (this.lowerText ??= this.text!.toLowerCase())
  }

  /** Whether `text` is all ASCII (so is its fold); only call when `text` is defined. */
  isAscii(): boolean {
    return (this.ascii ??= isAscii(this.text!))
  }

  /** `foldCase(text)`; only call when `text` is defined. For ASCII text it is `lower()`. */
  folded(): string {
    return (this.foldedText ??= this.isAscii() ? this.lower() : foldCase(this.text!))
  }

  /**
   * The folded text after its last backslash (all of it without one): a path's program name,
   * which gates and `endswith` lists of programs look up. Only call when `text` is defined.
   */
  basename(): string {
    if (this.baseText === undefined) {
      const folded = this.folded()
      this.baseText = folded.slice(folded.lastIndexOf('\\') + 1)
    }
    return this.baseText
  }
}

/** A field's value for the event being evaluated; without a cache, read afresh every time. */
export class FieldSlot extends FieldValue {
  private event: PalisadeEvent | undefined = undefined
  private generation = -1

  constructor(
    private readonly get: FieldGetter,
    private readonly cache?: FieldCache,
  ) {
    super()
  }

  read(event: PalisadeEvent): this {
    const cache = this.cache
    if (cache && this.generation === cache.generation && this.event === event) return this
    this.event = event
    this.generation = cache ? cache.generation : -1
    return this.set(this.get(event))
  }
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  return undefined
}

/**
 * Whether a keyword search reads the top-level field `key` of `event`. The Sigma rules
 * specification has keywords searched "across an entire event"; Palisade reads the event as its
 * source wrote it. Of a Windows event that is its `winlog` block (System, EventData, UserData) and
 * its rendered `message`, not the ECS fields Palisade derives from them, which repeat those
 * values or are Palisade's own words (`event.action: process-created`, `event.ingested`): a
 * keyword rule then means the same whatever the ECS mapping adds, and the search reads half as
 * many values. Of any other event, every field but its id and time, which Palisade gives it.
 */
export function isSearched(event: object, key: string): boolean {
  if ('winlog' in event) return key === 'winlog' || key === 'message'
  return key !== 'id' && key !== '@timestamp'
}
