/**
 * The browser's WebAuthn ceremonies, on the JSON the API speaks: Chromium, Firefox and Safari
 * read it and write it themselves (WebAuthn Level 3 §5.1.9 `toJSON`, §5.1.10
 * `parseCreationOptionsFromJSON`, `parseRequestOptionsFromJSON`), so no conversion is made
 * here. `signal` lets the page cancel a prompt the person gave up on.
 */
export async function createCredential(options: unknown, signal: AbortSignal): Promise<unknown> {
  refuseUnlessSupported()
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(
    options as PublicKeyCredentialCreationOptionsJSON,
  )
  const credential = await navigator.credentials.create({ publicKey, signal })
  return answer(credential)
}

export async function getAssertion(options: unknown, signal: AbortSignal): Promise<unknown> {
  refuseUnlessSupported()
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(
    options as PublicKeyCredentialRequestOptionsJSON,
  )
  const credential = await navigator.credentials.get({ publicKey, signal })
  return answer(credential)
}

/** The credential as JSON, without the null fields the API's schema does not take. */
function answer(credential: Credential | null): unknown {
  if (!(credential instanceof PublicKeyCredential)) {
    throw new DOMException('the authenticator gave no credential', 'NotAllowedError')
  }
  return dropNulls(credential.toJSON())
}

function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => [k, dropNulls(v)]),
  )
}

/** Whether this browser can use security keys and passkeys at all. */
export function keysSupported(): boolean {
  return (
    typeof PublicKeyCredential !== 'undefined' &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function'
  )
}

/** An older browser fails as WebAuthn itself would (§5.1.3), so the page says so plainly. */
function refuseUnlessSupported(): void {
  if (!keysSupported()) {
    throw new DOMException('this browser lacks WebAuthn or its JSON forms', 'NotSupportedError')
  }
}
