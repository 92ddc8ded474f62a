import { ClickHouseError } from '@clickhouse/client'

/**
 * ClickHouse error codes that say "try again later" rather than "this data is wrong"
 * (codes from ClickHouse's src/Common/ErrorCodes.cpp).
 */
const transientCodes = new Set([
  '159', // TIMEOUT_EXCEEDED
  '164', // READONLY
  '202', // TOO_MANY_SIMULTANEOUS_QUERIES
  '209', // SOCKET_TIMEOUT
  '210', // NETWORK_ERROR
  '241', // MEMORY_LIMIT_EXCEEDED
  '242', // TABLE_IS_READ_ONLY
  '252', // TOO_MANY_PARTS
  '319', // UNKNOWN_STATUS_OF_INSERT
  '394', // QUERY_WAS_CANCELLED
  '425', // SYSTEM_ERROR
  '999', // KEEPER_EXCEPTION
])

/**
 * True when ClickHouse answered and refused the data itself: sending the same rows again
 * cannot succeed, so the pipeline isolates the rows it refuses instead of retrying them.
 * Anything else (no answer, a transient refusal) is for the sender to retry.
 */
export function isDataRefusal(error: unknown): boolean {
  if (!(error instanceof ClickHouseError) && !hasNumericCode(error)) return false
  return !transientCodes.has(String((error as { code: unknown }).code))
}

function hasNumericCode(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^\d+$/.test(code)
}
