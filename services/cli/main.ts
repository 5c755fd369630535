#!/usr/bin/env node
/**
 * Entry point of the `encourage` command: parse, run, map errors to exit codes.
 * Figures go to stdout as one JSON line (last), logs to stderr.
 */
import { CommanderError } from 'commander';
import { EncourageError } from '../core/errors.js';
import { buildProgram } from './program.js';

/** Exit code for a bad invocation or bad input (flags, JSON, options). */
export const EXIT_USAGE = 2;
/** Exit code for a failure at run time. */
export const EXIT_FAILURE = 1;

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0 through the same path.
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (err instanceof EncourageError) {
      process.stderr.write(`encourage: ${err.message}\n`);
      process.exitCode = err.name === 'ConfigError' || err.name === 'InputError' ? EXIT_USAGE : EXIT_FAILURE;
      return;
    }
    process.stderr.write(`encourage: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}

await main(process.argv);
