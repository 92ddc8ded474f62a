import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The Merkle test vectors (transparency-dev's generator: RFC 9162 trees of up to 8 leaves plus
 * hand-made edge cases), read in place from `../shared/corpora/merkle/testdata` at the root.
 */
export const merkleTestdata = fileURLToPath(
  new URL('../../../../shared/corpora/merkle/testdata/', import.meta.url),
)

export interface InclusionVector {
  readonly file: string
  readonly leafIdx: number
  readonly treeSize: number
  readonly root: Uint8Array
  readonly leafHash: Uint8Array
  readonly proof: Uint8Array[]
  readonly desc: string
  readonly wantErr: boolean
}

export interface ConsistencyVector {
  readonly file: string
  readonly size1: number
  readonly size2: number
  readonly root1: Uint8Array
  readonly root2: Uint8Array
  readonly proof: Uint8Array[]
  readonly desc: string
  readonly wantErr: boolean
}

export function inclusionVectors(): InclusionVector[] {
  return readVectors('inclusion').map(({ file, json }) => ({
    file,
    leafIdx: json.leafIdx,
    treeSize: json.treeSize,
    root: bytes(json.root),
    leafHash: bytes(json.leafHash),
    proof: (json.proof ?? []).map(bytes),
    desc: json.desc,
    wantErr: json.wantErr,
  }))
}

export function consistencyVectors(): ConsistencyVector[] {
  return readVectors('consistency').map(({ file, json }) => ({
    file,
    size1: json.size1,
    size2: json.size2,
    root1: bytes(json.root1),
    root2: bytes(json.root2),
    proof: (json.proof ?? []).map(bytes),
    desc: json.desc,
    wantErr: json.wantErr,
  }))
}

function readVectors(kind: string): { file: string; json: any }[] {
  const dir = join(merkleTestdata, kind)
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const path = join(dir, name)
      return { file: relative(merkleTestdata, path), json: parseVector(readFileSync(path, 'utf8')) }
    })
}

/**
 * JSON.parse, except that integers are read exactly: the Go generator writes uint64 values such
 * as 2^64 - 1 ("leafIdx sub @1" on index 0), which a double would round. An integer above 2^53
 * stays above it after Number(), so the API still sees an index out of range.
 */
function parseVector(text: string): any {
  const exact = text.replace(/"(leafIdx|treeSize|size1|size2)": (\d+)/g, '"$1": "$2"')
  return JSON.parse(exact, (key, value) =>
    ['leafIdx', 'treeSize', 'size1', 'size2'].includes(key) ? Number(BigInt(value)) : value,
  )
}

function bytes(base64: string): Uint8Array {
  return new Uint8Array(Buffer.from(base64, 'base64'))
}
