import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The shared corpora, read in place: `../shared/corpora/` from the repository's root. */
export const corporaDir = fileURLToPath(new URL('../../../shared/corpora/', import.meta.url))

export function readCorpus(relative: string): string {
  return readFileSync(join(corporaDir, relative), 'utf8')
}

/** Every file under a corpus folder whose name ends with `suffix`, sorted, as full paths. */
export function corpusFiles(relative: string, suffix: string): string[] {
  const root = join(corporaDir, relative)
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => join(root, name))
}
