import { isIP } from 'node:net'

import type { SyslogEnrichment } from './syslog.ts'

/**
 * What OpenSSH's sshd messages mean, in ECS: the authentication outcome, the user, and the
 * peer's address and port. Applied by `parseSyslog` to every line whose APP-NAME is `sshd`.
 * Messages this table does not know keep `event.dataset: 'sshd'` and nothing more.
 *
 * Events that count as login attempts (for brute-force detection) have
 * `event.action: 'ssh_login'`; a line rsyslog folded as "message repeated N times" stands for
 * N of them and carries `log.syslog.repeat_count: N`.
 */

type Fields = Required<Pick<SyslogEnrichment, 'event'>> & SyslogEnrichment

function peer(address: string | undefined, port?: string): Record<string, unknown> | undefined {
  if (!address) return undefined
  const source: Record<string, unknown> = { address }
  if (isIP(address)) source['ip'] = address
  const n = port === undefined ? NaN : Number(port)
  if (n > 0 && n <= 65535) source['port'] = n
  return source
}

function user(name: string | undefined): Record<string, unknown> | undefined {
  return name ? { name } : undefined
}

/** `key=value` pairs as pam_unix writes them (`logname= uid=0 ... rhost=1.2.3.4 user=root`). */
function pamPairs(text: string): Record<string, string> {
  const pairs: Record<string, string> = {}
  for (const m of text.matchAll(/(\w+)=(\S*)/g)) pairs[m[1]!] = m[2]!
  return pairs
}

function auth(action: string, type: string, outcome?: 'success' | 'failure'): Fields['event'] {
  return { category: ['authentication'], type: [type], action, ...(outcome && { outcome }) }
}

function network(action: string, type: string): Fields['event'] {
  return { category: ['network'], type: [type], action }
}

type Rule = readonly [RegExp, (m: RegExpExecArray) => Fields]

// Order matters only where patterns overlap; each is anchored at the start of the message.
const RULES: readonly Rule[] = [
  [
    /^(Failed|Accepted) (\S+) for (invalid user )?(.*?) from (\S+) port (\d+)/,
    (m) => ({
      event: auth('ssh_login', 'start', m[1] === 'Accepted' ? 'success' : 'failure'),
      user: user(m[4]),
      source: peer(m[5], m[6]),
      labels: { ssh_method: m[2]!, ...(m[3] && { ssh_invalid_user: 'true' }) },
    }),
  ],
  [
    /^Invalid user (.*?) from (\S+?)(?: port (\d+))?\s*$/,
    (m) => ({
      event: auth('invalid_user', 'info', 'failure'),
      user: user(m[1]),
      source: peer(m[2], m[3]),
    }),
  ],
  [
    /^pam_unix\(sshd:auth\): authentication failure;(.*)$/,
    (m) => {
      const kv = pamPairs(m[1]!)
      return {
        event: auth('auth_failure', 'info', 'failure'),
        user: user(kv['user']),
        source: peer(kv['rhost'] || undefined),
      }
    },
  ],
  [
    // pam's summary after a session's failures; the failures themselves were logged already.
    /^PAM (\d+) more authentication failures?;(.*)$/,
    (m) => {
      const kv = pamPairs(m[2]!)
      return {
        event: auth('auth_failure_summary', 'info', 'failure'),
        user: user(kv['user']),
        source: peer(kv['rhost'] || undefined),
        labels: { ssh_more_failures: m[1]! },
      }
    },
  ],
  [
    /^(?:error: )?maximum authentication attempts exceeded for (invalid user )?(.*?) from (\S+) port (\d+)/,
    (m) => ({
      event: auth('max_auth_attempts_exceeded', 'info', 'failure'),
      user: user(m[2]),
      source: peer(m[3], m[4]),
    }),
  ],
  [
    // The same limit as older OpenSSH reports it, without the peer.
    /^Disconnecting: Too many authentication failures(?: for (?:invalid user )?(.*?))?(?: \[preauth\])?$/,
    (m) => ({ event: auth('max_auth_attempts_exceeded', 'info', 'failure'), user: user(m[1]) }),
  ],
  [
    // OpenSSH ≥ 7.3 writes "from IP port N:11: ..."; older ones "from IP: 11: ...".
    /^(?:error: )?Received disconnect from (\S+?)(?: port (\d+))?: ?(\d+): /,
    (m) => ({
      event: network('disconnect', 'end'),
      source: peer(m[1], m[2]),
      labels: { ssh_disconnect_code: m[3]! },
    }),
  ],
  [
    /^Connection closed by (?:(?:authenticating|invalid) user (.*?) )?(\S+?)(?: port (\d+))?(?: \[preauth\])?$/,
    (m) => ({
      event: network('connection_closed', 'end'),
      user: user(m[1]),
      source: peer(m[2], m[3]),
    }),
  ],
  [
    /^reverse mapping checking getaddrinfo for (\S+) \[(\S+)\] failed/,
    (m) => ({
      event: network('reverse_mapping_failed', 'info'),
      source: { ...peer(m[2]), domain: m[1] },
    }),
  ],
  [
    /^Did not receive identification string from (\S+?)(?: port (\d+))?$/,
    (m) => ({ event: network('no_identification', 'info'), source: peer(m[1], m[2]) }),
  ],
  [
    /^pam_unix\(sshd:session\): session (opened|closed) for user (\S+)/,
    (m) => ({
      event: {
        category: ['session'],
        type: [m[1] === 'opened' ? 'start' : 'end'],
        action: `session_${m[1]}`,
      },
      user: user(m[2]),
    }),
  ],
]

/**
 * Reads one sshd message (the MSG after `sshd[pid]:`).
 *
 * @example enrichSshd('Failed password for root from 5.36.59.76 port 42393 ssh2')
 * // event.action 'ssh_login', outcome 'failure', user.name 'root', source.ip '5.36.59.76'
 */
export function enrichSshd(message: string): SyslogEnrichment {
  for (const [pattern, build] of RULES) {
    const m = pattern.exec(message)
    if (!m) continue
    const fields = build(m)
    const out: SyslogEnrichment = { event: { dataset: 'sshd', ...fields.event } }
    if (fields.user) out.user = fields.user
    if (fields.source) out.source = fields.source
    if (fields.labels) out.labels = fields.labels
    return out
  }
  return { event: { dataset: 'sshd' } }
}
