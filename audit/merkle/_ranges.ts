import { splitPoint } from './_bits.ts'

/** The leaves [start, end) of a tree, whose Merkle Tree Hash is one hash of a proof. */
export interface LeafRange {
  readonly start: number
  readonly end: number
}

/**
 * The ranges whose hashes make up PATH(m, D[n]), leaf first, as RFC 9162 §2.1.3.1 defines it:
 * for n > 1 and k the largest power of two below n,
 *   PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      if m < k
 *   PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])  if m >= k
 * Callers have checked 0 <= index < size.
 */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  const ranges: LeafRange[] = []
  let start = 0
  let end = size
  let m = index
  while (end - start > 1) {
    const k = splitPoint(end - start)
    if (m < k) {
      ranges.push({ start: start + k, end })
      end = start + k
    } else {
      ranges.push({ start, end: start + k })
      start += k
      m -= k
    }
  }
  return ranges.reverse()
}

/**
 * The ranges whose hashes make up PROOF(m, D[n]) = SUBPROOF(m, D[n], true), leaf first, as
 * RFC 9162 §2.1.4.1 defines it:
 *   SUBPROOF(m, D[m], true)  = {}
 *   SUBPROOF(m, D[m], false) = {MTH(D[m])}
 *   SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          if m <= k
 *   SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  if m > k
 * Callers have checked 0 < size1 <= size2.
 */
export function consistencyRanges(size1: number, size2: number): LeafRange[] {
  const ranges: LeafRange[] = []
  let start = 0
  let end = size2
  let m = size1
  let whole = true
  while (m !== end - start) {
    const k = splitPoint(end - start)
    if (m <= k) {
      ranges.push({ start: start + k, end })
      end = start + k
    } else {
      ranges.push({ start, end: start + k })
      start += k
      m -= k
      whole = false
    }
  }
  if (!whole) ranges.push({ start, end })
  return ranges.reverse()
}
