/** What the control channel needs from the running dnsward: its operator commands, nothing else. */
import type { ControlRequest } from './control-protocol.js';

export interface ControlBackend {
  /** Runs one command; throws with a message the CLI shows. */
  control(request: ControlRequest): unknown | Promise<unknown>;
}
