import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }

/** Where Palisade is installed, and what ships with it. */
export const packageInfo = {
  root,
  version: pkg.version,
  builtinRulesDir: join(root, 'rules', 'builtin'),
}
