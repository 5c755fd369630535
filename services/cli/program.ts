/**
 * The `encourage` command tree. One file per subcommand; each exports a `register*` function
 * that adds itself to the program.
 */
import { Command } from 'commander';
import { registerLossCommand } from './loss-command.js';
import { registerTrainCommand } from './train-command.js';
import { registerCompareCommand } from './compare-command.js';
import { registerWorkerCommand } from './worker-command.js';
import { registerCoordinatorCommand } from './coordinator-command.js';
import { registerDataCommand } from './data-command.js';
import { registerHealthCommand } from './health-command.js';
import { registerReportCommand } from './report-command.js';
import { registerOperatorCommand } from './operator-command.js';

/** Build the full command tree (tests use it for `--help` output). */
export function buildProgram(): Command {
  const program = new Command('encourage')
    .description('Train image classifiers with the encouraging loss, locally or distributed on Kubernetes')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerLossCommand(program);
  registerTrainCommand(program);
  registerCompareCommand(program);
  registerCoordinatorCommand(program);
  registerWorkerCommand(program);
  registerDataCommand(program);
  registerHealthCommand(program);
  registerReportCommand(program);
  registerOperatorCommand(program);
  return program;
}
