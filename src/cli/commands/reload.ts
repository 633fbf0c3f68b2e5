import { loadConfig } from '../../config/load-config.js';
import { type Command, parseCommandArgs } from '../args.js';
import { runningPid } from '../pid-file.js';
import { configFile, LOCATION_OPTIONS, locateDataDir } from '../server-location.js';

export const reloadCommand: Command = {
  name: 'reload',
  locates: true,
  summary: 'make a running dnsward re-read its configuration (SIGHUP)',
  help: `Usage: dnsward reload [-c FILE] [--data-dir DIR]

Finds the dnsward running with data directory DIR (default ./var) and sends it
SIGHUP. With --config, the file is validated first and nothing is sent if it is
invalid. The server also validates on reload and keeps its running
configuration when the new one is bad, logging why.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { ...LOCATION_OPTIONS });
    const file = configFile(values);
    if (file !== undefined) loadConfig(file);
    const dataDir = locateDataDir(values);
    const pid = runningPid(dataDir);
    if (typeof pid === 'string') {
      console.error(`dnsward reload: ${pid}`);
      return 1;
    }
    process.kill(pid, 'SIGHUP');
    console.log(`sent SIGHUP to dnsward (pid ${pid})`);
    return 0;
  },
};
