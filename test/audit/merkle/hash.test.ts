import { describe, expect, it } from 'vitest'

import {
  emptyRoot,
  HASH_SIZE,
  leafHash,
  MerkleFrontier,
  nodeHash,
  rootHash,
} from '../../../audit/merkle/index.ts'
import { hex, referenceEntries } from './helpers.ts'

// Roots of the first 1 to 8 entries of the reference tree, as published with the RFC 6962
// reference implementation and kept in transparency-dev/merkle's tests.
const referenceRoots = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]

describe('RFC 9162 §2.1.1 hashing', () => {
  it('gives the empty tree the SHA-256 of the empty string', () => {
    expect(hex(emptyRoot())).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
    expect(hex(rootHash([]))).toBe(hex(emptyRoot()))
  })

  it('hashes a leaf as SHA-256(0x00 || entry)', () => {
    expect(hex(leafHash(new Uint8Array()))).toBe(referenceRoots[0])
    expect(leafHash(referenceEntries[3]!)).toHaveLength(HASH_SIZE)
  })

  it('hashes a node as SHA-256(0x01 || left || right), so order matters', () => {
    const [a, b] = referenceEntries.slice(0, 2).map(leafHash)
    expect(hex(nodeHash(a!, b!))).toBe(referenceRoots[1])
    expect(hex(nodeHash(b!, a!))).not.toBe(referenceRoots[1])
  })

  it('keeps leaves and nodes apart: a node is never the leaf hash of its own bytes', () => {
    const [a, b] = referenceEntries.slice(0, 2).map(leafHash)
    const concatenated = new Uint8Array([...a!, ...b!])
    expect(hex(leafHash(concatenated))).not.toBe(hex(nodeHash(a!, b!)))
  })

  it('gives the reference roots for trees of 1 to 8 entries', () => {
    const hashes = referenceEntries.map(leafHash)
    for (let n = 1; n <= 8; n++) {
      expect(hex(rootHash(hashes.slice(0, n))), `size ${n}`).toBe(referenceRoots[n - 1])
    }
  })

  it('gives the same reference roots when the frontier appends one entry at a time', () => {
    const tree = new MerkleFrontier()
    for (const [i, entry] of referenceEntries.entries()) {
      tree.append(leafHash(entry))
      expect(hex(tree.root()), `size ${i + 1}`).toBe(referenceRoots[i])
    }
  })
})
