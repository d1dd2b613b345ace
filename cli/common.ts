/** What every command needs: validated config and a logger, with config problems printed plainly. */
import { ConfigError, loadConfig, type Config } from '../server/config.js';
import { createLogger, type Logger } from '../server/logger.js';

export function configOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

export function cliLogger(config: Config): Logger {
  return createLogger({ level: config.logLevel });
}
