import { describe, expect, it } from 'vitest'

import {
  MerkleError,
  MerkleFrontier,
  nodeHash,
  rootHash,
  type SubtreeHash,
} from '../../../audit/merkle/index.ts'
import { hex, leaves } from './helpers.ts'

describe('MerkleFrontier', () => {
  const hashes = leaves(300)

  it('has the root of all its leaves after every append, for sizes 0 to 300', () => {
    const tree = new MerkleFrontier()
    expect(hex(tree.root())).toBe(hex(rootHash([])))
    for (let n = 1; n <= hashes.length; n++) {
      tree.append(hashes[n - 1]!)
      expect(tree.size).toBe(n)
      expect(hex(tree.root()), `size ${n}`).toBe(hex(rootHash(hashes.slice(0, n))))
    }
  })

  it('keeps one hash per set bit of its size', () => {
    const tree = new MerkleFrontier()
    hashes.slice(0, 0b1011).forEach((h) => tree.append(h))
    expect(tree.toJSON().hashes).toHaveLength(3)
    expect(tree.subtrees().map(({ level, index }) => [level, index])).toEqual([
      [3, 0],
      [1, 4],
      [0, 10],
    ])
  })

  it('reports each perfect subtree an append completes, with its level, index and hash', () => {
    const tree = new MerkleFrontier()
    const reported: SubtreeHash[] = []
    hashes.slice(0, 8).forEach((h) => tree.append(h, (s) => reported.push(s)))
    expect(reported.map(({ level, index }) => `${level}/${index}`)).toEqual([
      '1/0',
      '1/1',
      '2/0',
      '1/2',
      '1/3',
      '2/1',
      '3/0',
    ])
    expect(hex(reported.at(-1)!.hash)).toBe(hex(rootHash(hashes.slice(0, 8))))
    expect(hex(reported[1]!.hash)).toBe(hex(nodeHash(hashes[2]!, hashes[3]!)))
  })

  it('survives a round trip through JSON text and goes on appending as before', () => {
    const tree = new MerkleFrontier()
    hashes.slice(0, 77).forEach((h) => tree.append(h))
    const restored = MerkleFrontier.fromJSON(JSON.parse(JSON.stringify(tree)))
    expect(restored.size).toBe(77)
    expect(hex(restored.root())).toBe(hex(tree.root()))
    hashes.slice(77, 200).forEach((h) => restored.append(h))
    expect(hex(restored.root())).toBe(hex(rootHash(hashes.slice(0, 200))))
  })

  it('stores plain JSON: a size and lowercase hex hashes', () => {
    const tree = new MerkleFrontier()
    hashes.slice(0, 3).forEach((h) => tree.append(h))
    expect(tree.toJSON()).toEqual({
      size: 3,
      hashes: [hex(nodeHash(hashes[0]!, hashes[1]!)), hex(hashes[2]!)],
    })
    expect(MerkleFrontier.fromJSON({ size: 0, hashes: [] }).root()).toEqual(rootHash([]))
  })

  it('appends to a clone without changing the original', () => {
    const tree = new MerkleFrontier()
    hashes.slice(0, 5).forEach((h) => tree.append(h))
    const copy = tree.clone()
    copy.append(hashes[5]!)
    expect(tree.size).toBe(5)
    expect(hex(tree.root())).toBe(hex(rootHash(hashes.slice(0, 5))))
    expect(hex(copy.root())).toBe(hex(rootHash(hashes.slice(0, 6))))
  })

  it.each([
    ['not an object', null, 'frontier: expected an object'],
    ['a negative size', { size: -1, hashes: [] }, 'frontier.size: expected an integer'],
    ['a fractional size', { size: 1.5, hashes: [] }, 'frontier.size'],
    ['no hash list', { size: 1 }, 'frontier.hashes: expected an array'],
    ['too few hashes', { size: 3, hashes: ['00'.repeat(32)] }, 'expected 2 hashes for size 3'],
    ['a short hash', { size: 1, hashes: ['00'.repeat(31)] }, 'frontier.hashes[0]: expected 64'],
    ['upper-case hex', { size: 1, hashes: ['AB'.repeat(32)] }, 'frontier.hashes[0]'],
  ])('refuses a stored state with %s, naming the field', (_, state, message) => {
    expect(() => MerkleFrontier.fromJSON(state)).toThrow(message)
    expect(() => MerkleFrontier.fromJSON(state)).toThrow(MerkleError)
  })

  it('refuses to append a leaf hash that is not 32 bytes', () => {
    const tree = new MerkleFrontier()
    expect(() => tree.append(new Uint8Array(31))).toThrow('leaf: expected 32 bytes, got 31 bytes')
    expect(tree.size).toBe(0)
  })
})
