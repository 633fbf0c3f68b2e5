/**
 * The open live streams (server-sent events) and the credential each was opened with. A stream
 * lives only as long as its credential: `recheck()` ends every stream whose token was revoked,
 * whose user was removed or changed, or whose session ended. The console calls it right after
 * such a change made through the API, and once a second for changes made elsewhere (the CLI
 * writes the user store from another process) and for sessions that expire.
 */
import type { Credential } from '../auth/request-auth.js';

export interface LiveStream {
  credential: Credential;
  close(): void;
}

export class LiveStreams {
  private readonly streams = new Set<LiveStream>();

  constructor(private readonly stillValid: (credential: Credential) => boolean) {}

  add(stream: LiveStream): () => void {
    this.streams.add(stream);
    return () => this.streams.delete(stream);
  }

  recheck(): void {
    for (const s of [...this.streams]) {
      if (this.stillValid(s.credential)) continue;
      this.streams.delete(s);
      s.close();
    }
  }

  closeAll(): void {
    for (const s of [...this.streams]) s.close();
    this.streams.clear();
  }
}
