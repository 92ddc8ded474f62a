import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'

import { MfaSetup } from './components/security/mfa-setup.tsx'
import './styles.css'

const root = document.getElementById('root')
if (!root) throw new Error('expected an element with id "root" in index.html')
createRoot(root).render(
  <StrictMode>
    <MfaSetup />
  </StrictMode>,
)
