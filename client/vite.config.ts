import { fileURLToPath } from 'node:url'

import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

/**
 * The MFA set-up page and the sealed-field view, built into dist/client (never committed),
 * which the API serves under /security/ on its own origin. No inline script or style is
 * emitted, so the pages run under the strict Content-Security-Policy the API sends with them
 * (api/routes/client-routes.ts).
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
    // Two pages: the MFA set-up page and the view that opens sealed fields on the analyst's
    // machine (served as /security/open-sealed.html).
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL('index.html', import.meta.url)),
        'open-sealed': fileURLToPath(new URL('open-sealed.html', import.meta.url)),
      },
    },
  },
})
