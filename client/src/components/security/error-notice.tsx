import { useEffect, useRef } from 'react'

import type { PlainError } from '../../api/error-messages.ts'

/**
 * An error in plain words, announced at once by screen readers (role alert), with what to do
 * next. `id` lets the field it is about point at it with aria-describedby.
 */
export function ErrorNotice({ error, id }: { error: PlainError | null; id: string }) {
  if (!error) return null
  return (
    <div className="error" role="alert" id={id}>
      <p className="error-what">{error.what}</p>
      <p className="error-next">{error.next}</p>
    </div>
  )
}

/** Moves keyboard and screen-reader focus to the element when it first appears. */
export function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null)
  useEffect(() => {
    ref.current?.focus()
  }, [])
  return ref
}

/** A date as people read it, in their own locale, or `fallback` when there is none. */
export function readableTime(iso: string | null, fallback: string): string {
  if (iso === null) return fallback
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}
