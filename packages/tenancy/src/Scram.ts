import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto"

/**
 * The SCRAM-SHA-256 verifier of a password as PostgreSQL stores it (RFC 5802, RFC 7677):
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64. `CREATE ROLE … PASSWORD`
 * stores a verifier as given, so the plaintext never travels in a statement, where the server's
 * log, `pg_stat_statements` or a span's `db.query.text` would keep it. The password must not need
 * SASLprep (our generated ones are base64url).
 */
export const scramSha256Verifier = (password: string, salt: Uint8Array = randomBytes(16), iterations = 4096): string => {
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256")
  const hmac = (text: string) => createHmac("sha256", salted).update(text, "utf8").digest()
  const storedKey = createHash("sha256").update(hmac("Client Key")).digest()
  const serverKey = hmac("Server Key")
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`
}
