/** The answer text of a Tunnel Guard block, the same in the EDE, the query log, the console and the SIEM. */
const MAX_TEXT = 200;

export function blockText(reason: string | undefined, incident: string | undefined): string {
  return `Tunnel Guard: ${reason ?? 'blocked'}${incident ? ` [incident ${incident}]` : ''}`.slice(0, MAX_TEXT);
}
