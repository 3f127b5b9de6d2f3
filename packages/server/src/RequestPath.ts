/**
 * A request's path without its query string, for logs, spans and the audit log: a query string
 * may carry a secret (`?token=`, `?access_token=`, `?api_key=`), and no log needs it.
 */
export const pathOf = (url: string): string => {
  const end = url.search(/[?#]/)
  const path = end === -1 ? url : url.slice(0, end)
  return path.length > 300 ? `${path.slice(0, 300)}…` : path
}
