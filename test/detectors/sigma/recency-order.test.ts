import { describe, expect, it } from 'vitest'

import { RecencyOrder } from '../../../detectors/sigma/recency-order.ts'

describe('RecencyOrder', () => {
  it('shifts keys in the order they were filed, a key touched again moving to the end', () => {
    const order = new RecencyOrder<number>()
    for (const [i, key] of ['a', 'b', 'c'].entries()) order.touch(key, i)
    expect(order.shift()).toEqual(['a', 0])
    order.touch('b', 1)
    order.touch('d', 3)
    expect([order.shift(), order.shift(), order.shift(), order.shift()]).toEqual([
      ['c', 2],
      ['b', 1],
      ['d', 3],
      undefined,
    ])
  })

  it('gives an entry the caller spares a second chance at the end, once', () => {
    const order = new RecencyOrder<{ used: boolean }>()
    const a = { used: true }
    order.touch('a', a)
    order.touch('b', { used: false })
    const spare = (v: { used: boolean }) => {
      const used = v.used
      v.used = false
      return used
    }
    expect(order.shift(spare)?.[0]).toBe('b')
    expect(order.shift(spare)?.[0]).toBe('a')
    expect(order.size).toBe(0)
  })

  it('keeps shifting in constant time however many keys went before', () => {
    // A fresh Map iterator per shift walks every deleted slot: this took 30 s that way.
    const order = new RecencyOrder<number>()
    for (let i = 0; i < 100_000; i++) order.touch(`k${i}`, i)
    const started = performance.now()
    for (let i = 100_000; i < 1_100_000; i++) {
      order.shift()
      order.touch(`k${i}`, i)
    }
    expect(order.size).toBe(100_000)
    expect(order.shift()).toEqual(['k1000000', 1_000_000])
    expect(performance.now() - started).toBeLessThan(10_000)
  })
})
