import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'

import { OpenSealedView } from './components/sealed/open-sealed-view.tsx'
import './styles.css'

const root = document.getElementById('root')
if (!root) throw new Error('expected an element with id "root" in open-sealed.html')
createRoot(root).render(
  <StrictMode>
    <OpenSealedView />
  </StrictMode>,
)
