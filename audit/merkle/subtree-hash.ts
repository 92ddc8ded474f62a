/**
 * The hash of a perfect subtree: the 2^level leaves from index * 2^level on. In an append-only
 * tree such a subtree never changes once its last leaf is in, so its hash can be kept forever.
 */
export interface SubtreeHash {
  readonly level: number
  readonly index: number
  readonly hash: Uint8Array
}
