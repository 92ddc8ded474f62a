/** Why a text could not be read as events, in plain words. */
export class EventsTextError extends Error {
  override readonly name = 'EventsTextError'
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * The events of an export, as `palisade decrypt` and the browser's sealed-field view read them:
 * a JSON array, the API's `{items: [...]}` page, one event, or NDJSON (one event a line).
 *
 * @throws {EventsTextError} naming the line or the event that is not a JSON object
 */
export function readEvents(text: string): Record<string, unknown>[] {
  let values: unknown[]
  try {
    const whole: unknown = JSON.parse(text)
    values = Array.isArray(whole)
      ? whole
      : isObject(whole) && Array.isArray(whole.items)
        ? whole.items
        : [whole]
  } catch {
    values = []
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue
      try {
        values.push(JSON.parse(line))
      } catch {
        throw new EventsTextError(
          `Line ${i + 1} is not JSON: expected a JSON array of events, or one event a line.`,
        )
      }
    }
  }

  if (values.length === 0) throw new EventsTextError('Expected at least one event, got none.')

  for (const [i, value] of values.entries()) {
    if (!isObject(value)) {
      throw new EventsTextError(`Event ${i + 1} is not a JSON object.`)
    }
  }
  return values as Record<string, unknown>[]
}
