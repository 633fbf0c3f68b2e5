/**
 * An operator's comment on an action (why, a ticket number), kept with its audit entry. It is
 * free text from a person, shown in the console and the CLI and sent on in events: bounded in
 * length, one line of printable text (a newline or escape sequence in it could forge a line of
 * `dnsward blocks` output or a syslog record), blank meaning none.
 */
export const MAX_COMMENT_LENGTH = 500;

/** The comment to keep (trimmed; undefined when none); throws with a message to show when it is refused. */
export function operatorComment(comment: unknown): string | undefined {
  if (comment === undefined || comment === null) return undefined;
  if (typeof comment !== 'string') throw new Error('the comment must be text');
  const text = comment.trim();
  if (text === '') return undefined;
  if (text.length > MAX_COMMENT_LENGTH)
    throw new Error(`the comment is ${text.length} characters long; at most ${MAX_COMMENT_LENGTH} are kept`);
  // C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(text))
    throw new Error('the comment must be one line of text, without control characters');
  return text;
}
