import { describe, expect, it } from 'vitest'

import { listDisabledRules, setRuleDisabled } from '../../../platform/state/disabled-rules.ts'
import { bothStateStores } from '../../helpers/state-stores.ts'

const { stores, postgres } = bothStateStores('disabled-rules')

describe.each(stores)('rules turned off, kept in the state store on %s', (kind, open) => {
  it.skipIf(kind === 'PostgreSQL' && !postgres)(
    'keeps each rule turned off once, forgets it when turned on, and survives a reopen',
    async () => {
      const state = await open()
      try {
        await setRuleDisabled(state.db, 'rule-a', true, 'token:1')
        await setRuleDisabled(state.db, 'rule-b', true, 'token:1')
        await setRuleDisabled(state.db, 'rule-a', true, 'token:2')
        await setRuleDisabled(state.db, 'rule-b', false, 'token:2')
        await setRuleDisabled(state.db, 'never-off', false, 'token:2')
        expect((await listDisabledRules(state.db)).sort()).toEqual(['rule-a'])
        const row = await state.db.selectFrom('disabled_rules').selectAll().executeTakeFirst()
        expect(row?.disabled_by).toBe('token:1')
      } finally {
        await state.close()
      }
      const again = await open()
      try {
        expect(await listDisabledRules(again.db)).toEqual(['rule-a'])
      } finally {
        await again.close()
      }
    },
  )
})
