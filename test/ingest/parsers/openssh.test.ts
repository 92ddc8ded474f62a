import { describe, expect, it } from 'vitest'

import { enrichSshd } from '../../../ingest/parsers/openssh.ts'

describe('enrichSshd', () => {
  it('reads a failed password for a valid user as a failed login attempt', () => {
    expect(enrichSshd('Failed password for root from 5.36.59.76 port 42393 ssh2')).toEqual({
      event: {
        dataset: 'sshd',
        category: ['authentication'],
        type: ['start'],
        action: 'ssh_login',
        outcome: 'failure',
      },
      user: { name: 'root' },
      source: { address: '5.36.59.76', ip: '5.36.59.76', port: 42393 },
      labels: { ssh_method: 'password' },
    })
  })

  it('marks a failed password for an invalid user', () => {
    const out = enrichSshd('Failed password for invalid user admin from 10.0.0.1 port 22 ssh2')
    expect(out).toMatchObject({
      event: { action: 'ssh_login', outcome: 'failure' },
      user: { name: 'admin' },
      labels: { ssh_method: 'password', ssh_invalid_user: 'true' },
    })
  })

  it('reads an accepted public key as a successful login', () => {
    const out = enrichSshd(
      'Accepted publickey for fred from 2001:db8::7 port 50022 ssh2: RSA SHA256:x',
    )
    expect(out).toMatchObject({
      event: { action: 'ssh_login', outcome: 'success', type: ['start'] },
      user: { name: 'fred' },
      source: { ip: '2001:db8::7', port: 50022 },
      labels: { ssh_method: 'publickey' },
    })
  })

  it('reads an invalid user, with or without a port', () => {
    expect(enrichSshd('Invalid user webmaster from 173.234.31.186')).toMatchObject({
      event: { action: 'invalid_user', outcome: 'failure', category: ['authentication'] },
      user: { name: 'webmaster' },
      source: { ip: '173.234.31.186' },
    })
    expect(enrichSshd('Invalid user bob from 10.1.1.1 port 4000')).toMatchObject({
      source: { ip: '10.1.1.1', port: 4000 },
    })
  })

  it('reads a pam_unix authentication failure with its remote host and user', () => {
    const msg =
      'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=112.95.230.3  user=root'
    expect(enrichSshd(msg)).toMatchObject({
      event: { action: 'auth_failure', outcome: 'failure', type: ['info'] },
      user: { name: 'root' },
      source: { ip: '112.95.230.3' },
    })
  })

  it('keeps a pam remote host that is a name as an address, not an ip', () => {
    const msg = 'pam_unix(sshd:auth): authentication failure; logname= uid=0 rhost=host.example'
    expect(enrichSshd(msg).source).toEqual({ address: 'host.example' })
  })

  it('reads closed connections, old and new formats', () => {
    expect(enrichSshd('Connection closed by 1.237.174.253 [preauth]')).toMatchObject({
      event: { action: 'connection_closed', category: ['network'], type: ['end'] },
      source: { ip: '1.237.174.253' },
    })
    const authenticating =
      'Connection closed by authenticating user root 10.0.0.9 port 5555 [preauth]'
    expect(enrichSshd(authenticating)).toMatchObject({
      user: { name: 'root' },
      source: { ip: '10.0.0.9', port: 5555 },
    })
  })

  it('reads disconnects, old and new formats', () => {
    expect(
      enrichSshd('Received disconnect from 52.80.34.196: 11: Bye Bye [preauth]'),
    ).toMatchObject({
      event: { action: 'disconnect', category: ['network'] },
      source: { ip: '52.80.34.196' },
      labels: { ssh_disconnect_code: '11' },
    })
    expect(enrichSshd('Received disconnect from 10.0.0.2 port 41000:11: bye')).toMatchObject({
      source: { ip: '10.0.0.2', port: 41000 },
    })
  })

  it('reads exceeded authentication attempts', () => {
    const msg =
      'error: maximum authentication attempts exceeded for root from 10.0.0.3 port 4711 ssh2 [preauth]'
    expect(enrichSshd(msg)).toMatchObject({
      event: { action: 'max_auth_attempts_exceeded', outcome: 'failure' },
      user: { name: 'root' },
      source: { ip: '10.0.0.3', port: 4711 },
    })
  })

  it('reads a failed reverse mapping with the claimed host name', () => {
    const msg =
      'reverse mapping checking getaddrinfo for ns.example.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!'
    expect(enrichSshd(msg)).toMatchObject({
      event: { action: 'reverse_mapping_failed', category: ['network'] },
      source: { ip: '173.234.31.186', domain: 'ns.example.com' },
    })
  })

  it('reads session opening and closing', () => {
    const opened = enrichSshd('pam_unix(sshd:session): session opened for user fztu by (uid=0)')
    expect(opened).toMatchObject({
      event: { action: 'session_opened', category: ['session'], type: ['start'] },
      user: { name: 'fztu' },
    })
    expect(enrichSshd('pam_unix(sshd:session): session closed for user fztu')).toMatchObject({
      event: { action: 'session_closed', type: ['end'] },
    })
  })

  it('marks a message it does not know only with the dataset', () => {
    expect(enrichSshd('pam_unix(sshd:auth): check pass; user unknown')).toEqual({
      event: { dataset: 'sshd' },
    })
  })
})
