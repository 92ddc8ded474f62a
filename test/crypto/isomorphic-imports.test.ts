import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'

import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../../crypto')
const nodeBuiltins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))
/** The packages crypto/ may use: each runs in browsers as in Node. */
const allowedPackages = ['@hpke/core', '@noble/hashes', 'shamir-secret-sharing']

/** Every import specifier of a TypeScript source, static or dynamic. */
function specifiers(source: string): string[] {
  const found: string[] = []
  const pattern = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g
  for (const match of source.matchAll(pattern)) found.push(match[1] ?? match[2]!)
  return found
}

/** The files of crypto/ and every file they reach by relative imports. */
function reachable(): Map<string, string> {
  const files = new Map<string, string>()
  const queue = readdirSync(root)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, f))
  for (let file = queue.pop(); file; file = queue.pop()) {
    if (files.has(file)) continue
    const source = readFileSync(file, 'utf8')
    files.set(file, source)
    for (const spec of specifiers(source)) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec))
    }
  }
  return files
}

describe('crypto/ runs unchanged in a browser', () => {
  it('imports nothing of Node, directly or through the files it imports', () => {
    const offending: string[] = []
    for (const [file, source] of reachable()) {
      for (const spec of specifiers(source)) {
        if (spec.startsWith('.')) {
          if (!resolve(dirname(file), spec).startsWith(root)) {
            offending.push(`${relative(root, file)}: ${spec} (outside crypto/)`)
          }
        } else if (nodeBuiltins.has(spec)) {
          offending.push(`${relative(root, file)}: ${spec} (a Node module)`)
        } else if (!allowedPackages.some((p) => spec === p || spec.startsWith(`${p}/`))) {
          offending.push(`${relative(root, file)}: ${spec} (not an isomorphic package we chose)`)
        }
      }
    }
    expect(offending).toEqual([])
  })

  it('uses no Node global (Buffer, process, require, __dirname)', () => {
    const offending: string[] = []
    for (const [file, source] of reachable()) {
      const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      for (const name of ['Buffer', 'process', 'require', '__dirname', '__filename', 'global']) {
        if (new RegExp(`\\b${name}\\b`).test(code))
          offending.push(`${relative(root, file)}: ${name}`)
      }
    }
    expect(offending).toEqual([])
  })

  it('finds a Node import when one is there, so the check above can fail', () => {
    const source = "import { x } from 'node:crypto'\nexport { y } from 'fs'\nawait import('buffer')"
    expect(specifiers(source).filter((s) => nodeBuiltins.has(s))).toEqual([
      'node:crypto',
      'fs',
      'buffer',
    ])
  })
})
