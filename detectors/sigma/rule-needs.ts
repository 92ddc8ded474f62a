import type { PalisadeEvent } from '../../platform/event-model.ts'
import type { EventPredicate, FieldGetter } from './compile-value.ts'
import { isSearched, type FieldCache, type FieldSlot } from './field-cache.ts'
import { NeedleScanner } from './needle-scanner.ts'

/**
 * What a predicate needs of an event before it can match, so that a rule set can skip most
 * rules without running them. Most process-creation rules are "this program, doing that":
 * they cannot match unless `Image` ends with one of a few `\name.exe` or `OriginalFileName` is
 * one of a few names, and the command line holds some literal text. Such a requirement (a
 * need) is a list of probes, one of which must hold; an AND brings the needs of its parts, and
 * a rule is gated on the two likeliest to fail. Per event, each field is read once: exact and
 * program-name probes are looked up, substring probes found in one pass of a needle scanner,
 * keyword probes in one pass over all the event's values. Only the rules whose needs all hold,
 * and those with no known need, are run.
 *
 * The prefilter changes which rules are run, never what a rule decides: every probe is implied
 * by the predicate it gates. `rules regress` and the bench's match checksum check that.
 */

/**
 * One condition on a field: `basename` is the folded text after the field's last backslash
 * (what a case-insensitive `endswith: '\x.exe'` needs); `lower` is the field's `toLowerCase`
 * text (what an exact value needs); `substring` is an ASCII text the field's folded text
 * contains (what any other pattern with a literal part needs: its longest literal);
 * `nonascii` holds when the text has a character outside ASCII (what a pattern whose literals
 * are all outside ASCII needs: the fold keeps such characters outside ASCII).
 */
export interface Probe {
  get: FieldGetter
  kind: 'basename' | 'lower' | 'substring' | 'nonascii'
  value: string
}

/**
 * The getter keyword probes name: a `substring` probe on it holds when any leaf value of the
 * event (what a keyword search reads) holds the text.
 */
export const keywordLeaves: FieldGetter = () => undefined

/** At least one of these probes holds whenever the predicate is true. */
export type Need = readonly Probe[]

/**
 * Needs that all hold whenever the predicate is true (an AND's parts each bring theirs), the
 * likeliest to fail first. Gating on two rather than one lets through only the rules whose
 * program and command line both fit, where one need alone lets every `cmd.exe` through.
 */
export type Needs = readonly Need[]

/** How many of an AND's needs a rule is gated on. */
const MAX_NEEDS = 2

const needs = new WeakMap<EventPredicate, Needs>()

/**
 * Records what `predicate` needs; returns it, for use at the end of a compile function.
 * @param need one need, or needs that all hold (an AND's), best first
 */
export function withNeed(
  predicate: EventPredicate,
  need: Need | Needs | undefined,
): EventPredicate {
  if (need === undefined || need.length === 0) return predicate
  const list = isNeeds(need) ? need : [need]
  needs.set(predicate, list)
  return predicate
}

function isNeeds(need: Need | Needs): need is Needs {
  return Array.isArray(need[0])
}

/** What a predicate needs, or undefined when nothing is known (it may match anything). */
export function needOf(predicate: EventPredicate): Need | undefined {
  return needs.get(predicate)?.[0]
}

/** Every need of a predicate that holds whenever it does, best first; empty when unknown. */
export function needsOf(predicate: EventPredicate): Needs {
  return needs.get(predicate) ?? []
}

/** Needs of an AND: every part's needs are the whole's; the likeliest to fail are kept. */
export function needOfAll(parts: readonly EventPredicate[]): Needs | undefined {
  const all = parts.flatMap((p) => needs.get(p) ?? [])
  if (all.length === 0) return undefined
  return all
    .map((need, at) => ({ need, cost: costOf(need), at }))
    .sort((a, b) => a.cost - b.cost || a.at - b.at)
    .slice(0, MAX_NEEDS)
    .map((c) => c.need)
}

/**
 * Roughly how likely a need is to hold on an event: one minus the chance that none of its
 * probes does, each probe guessed at from its kind and length. An exact or program-name value
 * holds for few events; a substring the more often the shorter it is (`.exe` is in most command
 * lines, ` share ` in few). A sum of counts, which this was, ranked three long command-line
 * texts of which one must hold below one `.exe`, and let Formbook's rule run on most events.
 */
function costOf(need: Need): number {
  let none = 1
  for (const probe of need) none *= 1 - chanceOf(probe)
  return 1 - none
}

function chanceOf(probe: Probe): number {
  if (probe.kind === 'nonascii') return 0.05
  if (probe.kind !== 'substring') return 0.02
  const value = probe.value
  if (value.length >= 8) return 0.02
  if (value.length >= 5) return 0.06
  return value.length === 4 ? 0.25 : value.length === 3 ? 0.4 : 0.7
}

/**
 * Needs of an OR: every part must need something. Whichever part holds brings all of its own
 * needs, so a need made of one need of each part holds too, and so does one made of another
 * need of each: `(a1 and a2) or b1` needs `a1 or b1` and `a2 or b1`. The first is made of each
 * part's best need, the next of each part's next best (or its best, for a part with one), so
 * `1 of selection_*` over "this parent and that command line" selections is gated on both the
 * parents and the command lines, not on the parents alone.
 */
export function needOfAny(parts: readonly EventPredicate[]): Needs | undefined {
  const partNeeds: Needs[] = []
  for (const p of parts) {
    const list = needs.get(p)
    if (!list) return undefined
    partNeeds.push(list)
  }
  const depth = Math.min(MAX_NEEDS, Math.max(...partNeeds.map((list) => list.length)))
  const result: Need[] = []
  for (let k = 0; k < depth; k++) {
    result.push(partNeeds.flatMap((list) => list[Math.min(k, list.length - 1)]!))
  }
  return result
}

/**
 * The key a field's value gives for a probe kind: undefined when any value may pass, null when
 * none does. A key of a length no probe value has is null too, found before it is looked up:
 * a Map hashes every character of a key it is given, and most command lines are looked up in
 * vain.
 */
function probeKey(
  slot: FieldSlot,
  kind: Probe['kind'],
  lengths: Uint8Array,
): string | undefined | null {
  const text = slot.text
  // Arrays are tested element by element: let every rule on this field through.
  if (text === undefined) return Array.isArray(slot.value) ? undefined : null
  if (kind === 'nonascii') return slot.isAscii() ? null : ''
  if (kind === 'lower') {
    // The length of the lower case, not of the text: lowering İ gives two characters.
    const lower = slot.lower()
    return lengths[lower.length] === 1 ? lower : null
  }
  const folded = slot.folded()
  const length = folded.length - folded.lastIndexOf('\\') - 1
  return lengths[length] === 1 ? slot.basename() : null
}

interface Dimension {
  get: FieldGetter
  slot: FieldSlot
  kind: Probe['kind']
  /** Probe value → the gates it opens. */
  buckets: Map<string, number[]>
  /** Every gate with a probe on this dimension. */
  all: number[]
  /** `lengths[n]` is 1 when some probe value is `n` characters long (`probeKey`). */
  lengths: Uint8Array
  /** For `substring`: the probe values, scanned for in one pass; `through` is by needle id. */
  scanner?: NeedleScanner
  through?: number[][]
  /** For keywords: a quick test of a value for any needle (`quickTest`). */
  quick?: RegExp
}

/**
 * A list of items (rules) with their needs, in order. `open` marks, per event, the items the
 * event may match: those without a need always, the others when each of their needs has a
 * probe that holds. Each need of each item is one gate; probes open gates.
 */
export class Gates {
  /** Per gate: the generation it was last opened in, and the item it belongs to. */
  private readonly opened: Int32Array
  private readonly gateItem: Int32Array
  /** Per item: how many gates it has, and how many opened in `itemGeneration`. */
  private readonly gateCount: Uint8Array
  private readonly openCount: Uint8Array
  private readonly itemGeneration: Int32Array
  /** Items without a gate, in order: open for every event. */
  private readonly ungated: Int32Array
  /** The items the last `open` let through, in order: `openItems[0..openTotal)`. */
  readonly openItems: Int32Array
  openTotal = 0
  private readonly dimensions: Dimension[] = []
  private generation = 0

  /** @param cache where the fields probes read are held, shared with the rules gated */
  constructor(itemNeeds: readonly Needs[], cache: FieldCache) {
    this.gateCount = new Uint8Array(itemNeeds.length)
    const gateItem: number[] = []
    const byDimension = new Map<FieldGetter, Map<Probe['kind'], Dimension>>()
    itemNeeds.forEach((list, at) => {
      const kept = list.slice(0, MAX_NEEDS)
      this.gateCount[at] = kept.length
      for (const need of kept) {
        const gate = gateItem.push(at) - 1
        for (const probe of need) {
          const kinds = byDimension.get(probe.get) ?? new Map<Probe['kind'], Dimension>()
          byDimension.set(probe.get, kinds)
          let dim = kinds.get(probe.kind)
          if (!dim) {
            dim = {
              get: probe.get,
              slot: cache.slot(probe.get),
              kind: probe.kind,
              buckets: new Map(),
              all: [],
              lengths: new Uint8Array(0),
            }
            kinds.set(probe.kind, dim)
            this.dimensions.push(dim)
          }
          const bucket = dim.buckets.get(probe.value) ?? []
          if (bucket.at(-1) !== gate) bucket.push(gate)
          dim.buckets.set(probe.value, bucket)
          if (dim.all.at(-1) !== gate) dim.all.push(gate)
        }
      }
    })
    this.opened = new Int32Array(gateItem.length)
    this.gateItem = Int32Array.from(gateItem)
    this.openCount = new Uint8Array(itemNeeds.length)
    this.itemGeneration = new Int32Array(itemNeeds.length)
    this.openItems = new Int32Array(itemNeeds.length)
    const ungated: number[] = []
    for (let at = 0; at < itemNeeds.length; at++) if (this.gateCount[at] === 0) ungated.push(at)
    this.ungated = Int32Array.from(ungated)
    for (const dim of this.dimensions) {
      const values = [...dim.buckets.keys()]
      dim.lengths = new Uint8Array(Math.max(...values.map((v) => v.length)) + 1)
      for (const value of values) dim.lengths[value.length] = 1
      if (dim.kind !== 'substring') continue
      // Each item list has its own keyword needles: a Windows event is searched for the few
      // of the Windows rules, not for the hundreds of the Linux ones (`:` and `@` among them).
      const needles = [...dim.buckets.keys()]
      dim.scanner = new NeedleScanner(needles, true)
      dim.through = [...dim.buckets.values()]
      if (dim.get === keywordLeaves) dim.quick = quickTest(needles)
    }
  }

  /** The keyword needles of these items' gates (`keywordCheck` takes several lists' at once). */
  get keywordNeedles(): readonly string[] {
    const dim = this.dimensions.find((d) => d.get === keywordLeaves)
    return dim ? [...dim.buckets.keys()] : []
  }

  /**
   * Works out which items the event may match: `openItems`, until the next call.
   * @param keywords false when `keywordCheck` found that no leaf holds a keyword needle
   */
  open(event: PalisadeEvent, keywords = true): void {
    const generation = ++this.generation
    this.openTotal = 0
    for (let d = 0; d < this.dimensions.length; d++) {
      const dim = this.dimensions[d]!
      if (dim.get === keywordLeaves) {
        if (!keywords) continue
        // Leaf by leaf, the quick test first where there is one: most values hold no needle.
        dim.scanner!.begin()
        scanLeaves(event, true, dim.scanner!, dim.quick)
        this.openThrough(dim, dim.scanner!, generation)
        continue
      }
      if (dim.scanner) {
        this.openFound(dim, dim.scanner, generation, event)
        continue
      }
      const key = probeKey(dim.slot.read(event), dim.kind, dim.lengths)
      if (key === null) continue
      const through = key === undefined ? dim.all : dim.buckets.get(key)
      if (!through) continue
      for (let i = 0; i < through.length; i++) this.openGate(through[i]!, generation)
    }
    const { openItems, ungated } = this
    let total = this.openTotal
    for (let i = 0; i < ungated.length; i++) openItems[total++] = ungated[i]!
    this.openTotal = total
    // Rules are reported in the order written, whatever order their gates opened in.
    if (total > 1) sortPrefix(openItems, total)
  }

  /** Opens a gate; an item whose gates are now all open joins `openItems`. */
  private openGate(gate: number, generation: number): void {
    if (this.opened[gate] === generation) return
    this.opened[gate] = generation
    const at = this.gateItem[gate]!
    if (this.itemGeneration[at] !== generation) {
      this.itemGeneration[at] = generation
      this.openCount[at] = 0
    }
    if (++this.openCount[at]! === this.gateCount[at]) this.openItems[this.openTotal++] = at
  }

  /** Opens the items whose needle occurs in the field's folded text. */
  private openFound(
    dim: Dimension,
    scanner: NeedleScanner,
    generation: number,
    event: PalisadeEvent,
  ): void {
    const slot = dim.slot.read(event)
    if (slot.text === undefined) {
      // Arrays are tested element by element: let every rule on this field through.
      if (Array.isArray(slot.value)) for (const gate of dim.all) this.openGate(gate, generation)
      return
    }
    scanner.scan(slot.text)
    this.openThrough(dim, scanner, generation)
  }

  /** Opens the gates of each needle the scanner found. */
  private openThrough(dim: Dimension, scanner: NeedleScanner, generation: number): void {
    const { found, count } = scanner
    for (let n = 0; n < count; n++) {
      const through = dim.through![found[n]!]!
      for (let i = 0; i < through.length; i++) this.openGate(through[i]!, generation)
    }
  }
}

/**
 * Sorts `list[0..count)` in place: an insertion sort, since an event opens a dozen items or
 * so, and `subarray(0, count).sort()` made a view object and a call into the runtime for each
 * list of each event.
 */
function sortPrefix(list: Int32Array, count: number): void {
  for (let i = 1; i < count; i++) {
    const item = list[i]!
    let j = i - 1
    while (j >= 0 && list[j]! > item) {
      list[j + 1] = list[j]!
      j--
    }
    list[j + 1] = item
  }
}

/**
 * A regular expression that matches whatever text holds one of the needles, A-Z read as a-z
 * as the scanner reads them (`i` without `u` folds nothing else onto ASCII). V8 runs it about
 * three times as fast as the scanner over text that holds none, which most values are; the
 * scanner then reads only the values it matched, to say which needles. Undefined for lists too
 * long for one alternation to stay fast.
 */
function quickTest(needles: readonly string[]): RegExp | undefined {
  if (needles.length === 0 || needles.length > 64) return undefined
  const escaped = needles.map((n) => n.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'))
  return new RegExp(escaped.join('|'), 'i')
}

/**
 * One test, for all the rule lists an event is run through, of whether any of its leaves may
 * hold a keyword needle of any of them; undefined when they have none, or too many for one
 * quick test. A Sysmon process creation is run through three lists with keyword rules; one pass
 * over its leaves replaces three.
 */
export function keywordCheck(
  lists: readonly Gates[],
): ((event: PalisadeEvent) => boolean) | undefined {
  const needles = [...new Set(lists.flatMap((gates) => gates.keywordNeedles))]
  const quick = quickTest(needles)
  if (!quick) return undefined
  const shortest = Math.min(...needles.map((n) => n.length))
  return (event) => someLeafHolds(event, true, quick, shortest)
}

/** Whether a leaf that keyword search reads (`scanLeaves`) matches `quick`. */
function someLeafHolds(node: unknown, top: boolean, quick: RegExp, shortest: number): boolean {
  if (typeof node === 'string') return node.length >= shortest && quick.test(node)
  if (typeof node === 'number' || typeof node === 'boolean') {
    const text = String(node)
    return text.length >= shortest && quick.test(text)
  }
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++)
      if (someLeafHolds(node[i], false, quick, shortest)) return true
  } else if (node && typeof node === 'object') {
    for (const k in node) {
      if (top && !isSearched(node, k)) continue
      if (someLeafHolds((node as Record<string, unknown>)[k], false, quick, shortest)) return true
    }
  }
  return false
}

/**
 * Adds every leaf of `node` that could hold a needle to the scan: the values a keyword search
 * reads (`isSearched`), every string, number and boolean in them.
 */
function scanLeaves(
  node: unknown,
  top: boolean,
  scanner: NeedleScanner,
  quick: RegExp | undefined,
): void {
  if (typeof node === 'string') {
    if (node.length >= scanner.shortest && (!quick || quick.test(node))) scanner.add(node)
  } else if (typeof node === 'number' || typeof node === 'boolean') {
    const text = String(node)
    if (text.length >= scanner.shortest && (!quick || quick.test(text))) scanner.add(text)
  } else if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) scanLeaves(node[i], false, scanner, quick)
  } else if (node && typeof node === 'object') {
    for (const k in node) {
      if (top && !isSearched(node, k)) continue
      scanLeaves((node as Record<string, unknown>)[k], false, scanner, quick)
    }
  }
}
