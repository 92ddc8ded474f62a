import { z } from 'zod'

/** Base64url without padding, as WebAuthn's JSON serialisation writes binary (§5.1). */
const base64url = (what: string, max: number) =>
  z
    .string({ error: `expected ${what} as base64url text` })
    .min(1, { error: `expected ${what} as base64url text, got an empty string` })
    .max(max, { error: `expected ${what} of at most ${max} characters` })
    .regex(/^[A-Za-z0-9_-]+$/, { error: `expected ${what} as base64url (A-Z a-z 0-9 - _)` })

const transports = z
  .array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']))
  .max(8)

const common = {
  id: base64url('id', 1366),
  rawId: base64url('rawId', 1366),
  type: z.literal('public-key', { error: 'expected type "public-key"' }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
}

/** `RegistrationResponseJSON` (WebAuthn Level 3 §5.1.1), every field checked for its shape. */
export const registrationResponse = z.strictObject({
  ...common,
  response: z.strictObject({
    clientDataJSON: base64url('response.clientDataJSON', 8192),
    attestationObject: base64url('response.attestationObject', 65536),
    authenticatorData: base64url('response.authenticatorData', 16384).optional(),
    transports: transports.optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: base64url('response.publicKey', 8192).optional(),
  }),
})

/** `AuthenticationResponseJSON` (WebAuthn Level 3 §5.1.4). */
export const authenticationResponse = z.strictObject({
  ...common,
  response: z.strictObject({
    clientDataJSON: base64url('response.clientDataJSON', 8192),
    authenticatorData: base64url('response.authenticatorData', 16384),
    signature: base64url('response.signature', 2048),
    userHandle: base64url('response.userHandle', 128).optional(),
  }),
})
