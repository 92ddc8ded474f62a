import { combine } from 'shamir-secret-sharing'
import { describe, expect, it } from 'vitest'

import { fromBase64Url, toBase64Url } from '../../crypto/bytes.ts'
import { openSealedField, sealField } from '../../crypto/sealed-field.ts'
import { generateSealingKeyPair } from '../../crypto/sealing-key-pair.ts'
import { restorePrivateKey, splitPrivateKey } from '../../crypto/split-private-key.ts'
import type { KeyShare } from '../../crypto/split-private-key.ts'

/** Every subset of `items` of exactly `size` elements. */
function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]]
  const out: T[][] = []
  items.forEach((item, i) => {
    for (const rest of subsets(items.slice(i + 1), size - 1)) out.push([item, ...rest])
  })
  return out
}

const owner = await generateSealingKeyPair()
const n = 5
const k = 3
const shares = await splitPrivateKey(owner, n, k)

describe(`splitting a private key into ${n} shares, any ${k} of which restore it`, () => {
  it('restores the private key from every subset of k shares, in any order', async () => {
    const groups = subsets(shares, k)
    expect(groups).toHaveLength(10)
    for (const group of groups) {
      for (const order of [group, [...group].reverse()]) {
        const restored = await restorePrivateKey(order)
        expect(restored.kid).toBe(owner.kid)
        expect(restored.privateKey).toEqual(owner.privateKey)
      }
    }
  })

  it('restores from more than k shares too', async () => {
    expect((await restorePrivateKey(shares.slice(0, 4))).privateKey).toEqual(owner.privateKey)
    expect((await restorePrivateKey(shares)).privateKey).toEqual(owner.privateKey)
  })

  it('opens what was sealed to the key with the restored key', async () => {
    const eventId = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a07'
    const sealed = await sealField({ recipient: owner, eventId, field: 'message', value: 'x' })
    const restored = await restorePrivateKey([shares[4]!, shares[0]!, shares[2]!])
    expect(await openSealedField(sealed, eventId, restored)).toBe('x')
  })

  it('refuses every subset smaller than k, with how many it expected', async () => {
    for (let size = 0; size < k; size++) {
      for (const group of subsets(shares, size)) {
        await expect(restorePrivateKey(group)).rejects.toMatchObject({
          code: 'PAL_CRYPTO_SHARES_INSUFFICIENT',
        })
      }
    }
    await expect(restorePrivateKey(shares.slice(0, 2))).rejects.toThrow(
      `expected at least 3 shares of key ${owner.kid}, got 2`,
    )
  })

  it('gets no key from fewer than k shares even when their threshold is edited down', async () => {
    const lying = (s: KeyShare): KeyShare => ({ ...s, threshold: 2 })
    for (const group of subsets(shares, k - 1)) {
      // The Shamir combination of too few shares gives bytes unrelated to the key...
      const combined = await combine(group.map((s) => fromBase64Url(s.share)))
      expect(combined).not.toEqual(owner.privateKey)
      // ...which the restore's probe refuses rather than handing back a wrong key.
      await expect(restorePrivateKey(group.map(lying))).rejects.toThrow(
        /the 2 shares do not restore key/,
      )
    }
  })

  it('refuses a changed share, and shares of two different splits', async () => {
    const changed = fromBase64Url(shares[0]!.share)
    changed[3]! ^= 0xff
    const tampered = [{ ...shares[0]!, share: toBase64Url(changed) }, shares[1]!, shares[2]!]
    await expect(restorePrivateKey(tampered)).rejects.toMatchObject({
      code: 'PAL_CRYPTO_SHARES_INSUFFICIENT',
    })
    const other = await splitPrivateKey(await generateSealingKeyPair(), n, k)
    await expect(restorePrivateKey([shares[0]!, shares[1]!, other[2]!])).rejects.toThrow(
      /shares of one split of one key, got shares of several/,
    )
  })

  it('refuses a threshold below 2 or above the share count', async () => {
    await expect(splitPrivateKey(owner, 3, 4)).rejects.toThrow(
      /threshold from 2 to the share count 3, got 4/,
    )
    await expect(splitPrivateKey(owner, 3, 1)).rejects.toThrow(/got 1/)
    await expect(splitPrivateKey(owner, 1, 1)).rejects.toThrow(/share count from 2 to 255, got 1/)
  })
})
