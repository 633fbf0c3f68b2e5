/**
 * The DNS cookie secret when the configuration gives none: a random one, made once in the main
 * thread and written into the configuration that every I/O thread receives, so that a cookie
 * minted by one thread is valid on all of them. Called again on each reload, which makes a new
 * one (the defence stage keeps the previous secret valid): an unset secret rotates on reload.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';

export function fillCookieSecret(config: Config): Config {
  config.defence.cookies.secret ??= randomBytes(16).toString('hex');
  return config;
}
