/** Small stdin/stdout helpers shared by the subcommands. */

/** Read all of stdin as UTF-8 text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Print one JSON document as a single stdout line: the machine-readable result of a command. */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Whether log lines should be human-readable (pino-pretty): a person is watching stderr. Decided
 * here, at the command, and passed to createLogger; libraries never look at the terminal.
 */
export function prettyLogs(): boolean {
  return process.stderr.isTTY === true;
}
