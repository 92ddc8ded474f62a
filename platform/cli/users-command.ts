import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'

import { isRole, roles } from '../../auth/roles.ts'
import type { User } from '../state/users.ts'
import type { ApiClient } from './api-client.ts'

interface AddAnswer {
  user: User
  enrolment_url: string
  enrolment_token: string
  enrolment_expires_at: string
}

/**
 * `users add` and `users list`: people of a running instance, through its API, like every
 * command that changes stored data. On a fresh instance the admin token its first start wrote
 * in the data dir is what lets the first admin be added.
 */
export function registerUsersCommands(program: Command, client: () => ApiClient): void {
  const users = program.command('users').description('people who sign in to a running instance')

  users
    .command('add')
    .description('add a person and print their one-time enrolment link (admin)')
    .argument('<name>', 'the name they sign in with')
    .requiredOption('--role <role>', `one of ${roles.join(', ')}`, role)
    .option('--json', 'print the answer as JSON')
    .action(async (name: string, options: { role: string; json?: boolean }) => {
      const answer = await client().request<AddAnswer>('POST', '/v1/users', {
        body: { name, role: options.role },
      })
      if (options.json) return print(JSON.stringify(answer))
      print(`added ${answer.user.name} (${answer.user.role}), id ${answer.user.id}`)
      print(`enrolment link, valid until ${answer.enrolment_expires_at}, shown once:`)
      print(`  ${answer.enrolment_url}`)
    })

  users
    .command('list')
    .description('list the people of a running instance (admin)')
    .option('--json', 'print {"items": [...]} as JSON')
    .action(async (options: { json?: boolean }) => {
      const answer = await client().request<{ items: User[] }>('GET', '/v1/users')
      if (options.json) return print(JSON.stringify(answer))
      for (const u of answer.items) {
        const state = u.disabled ? 'disabled' : u.enrolled ? 'enrolled' : 'invited'
        print(`${u.role.padEnd(10)}  ${state.padEnd(8)}  ${u.name}  ${u.id}`)
      }
    })
}

function role(value: string): string {
  if (!isRole(value)) {
    throw new InvalidArgumentError(
      `expected one of ${roles.join(', ')}, got ${JSON.stringify(value)}`,
    )
  }
  return value
}

function print(line: string): void {
  process.stdout.write(`${line}\n`)
}
