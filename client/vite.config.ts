import { fileURLToPath } from 'node:url'

import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

/**
 * The MFA set-up page, built into dist/client (never committed), which the API serves under
 * /security/ on its own origin. No inline script or style is emitted, so the page runs under
 * the strict Content-Security-Policy the API sends with it (api/routes/client-routes.ts).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/security/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/client', import.meta.url)),
    emptyOutDir: true,
    // Vite's module-preload polyfill is the one script it would otherwise add; Chromium,
    // Firefox and Safari all preload modules natively.
    modulePreload: { polyfill: false },
    // Small assets would be inlined as data: URLs; the CSP allows only this origin.
    assetsInlineLimit: 0,
  },
})
