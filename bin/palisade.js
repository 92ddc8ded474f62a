#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so there is no build step and nothing stale to ship.
import { register } from 'tsx/esm/api'

register()
await import('../platform/cli/main.ts')
