/** The problems loadConfig reports for an environment (none when it loads). */
import { ConfigError, loadConfig } from '../../server/config.js';

export function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}
