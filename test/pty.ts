// Runs a command on a real pseudo-terminal (python3's pty module) and types
// passphrases at its prompts: the CLI suites' terminal-prompt tests.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';

/**
 * The pty driver (pty.fork: the child is a session leader with the pty slave
 * as its controlling terminal, so /dev/tty is the pty). argv: log path,
 * timeout in seconds, JSON list of inputs, then the command. Each time a new
 * "Passphrase" prompt appears, the next input is typed. Everything the
 * terminal showed goes to the log. Exits with the child's status; 97 when no
 * pty could be had; a child still running after the timeout is killed and
 * PTY_TIMEOUT written to stderr.
 */
const PTY_SCRIPT = String.raw`
import json, os, pty, select, signal, sys, time
log_path, timeout, inputs, cmd = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4:]
try:
    pid, fd = pty.fork()
except OSError as e:
    sys.stderr.write("PTY_UNAVAILABLE: %s\n" % e)
    sys.exit(97)
if pid == 0:
    try:
        os.execv(cmd[0], cmd)
    finally:
        os._exit(127)
out, typed, deadline = b"", 0, time.time() + timeout
while True:
    if time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
        sys.stderr.write("PTY_TIMEOUT\n")
        break
    r, _, _ = select.select([fd], [], [], 0.05)
    if fd in r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            break
        out += chunk
    if typed < len(inputs) and out.count(b"Passphrase") > typed:
        time.sleep(0.15)  # the prompt is written just before echo is turned off
        os.write(fd, inputs[typed].encode())
        typed += 1
_, status = os.waitpid(pid, 0)
with open(log_path, "wb") as f:
    f.write(out)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

export interface PtyResult {
  code: number | null;
  /** Everything the terminal showed (prompts, echo, stderr of the command). */
  screen: string;
  /** The driver's own stderr. */
  stderr: string;
}

let seq = 0;

/**
 * Runs `command` (argv, command[0] a path) in `dir` on a pseudo-terminal,
 * typing `inputs` one per "Passphrase" prompt; killed after `timeoutSeconds`.
 * Never skips: no pty, no python3 or the timeout is a test failure with the
 * reason.
 */
export async function runOnPty(dir: string, inputs: string[], command: string[], timeoutSeconds: number): Promise<PtyResult> {
  const log = path.join(dir, `pty-${++seq}.log`);
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const cp = spawn('python3', ['-c', PTY_SCRIPT, log, String(timeoutSeconds), JSON.stringify(inputs), ...command], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const err: Buffer[] = [];
    cp.stderr.on('data', (c: Buffer) => err.push(c));
    cp.on('error', (e) => resolve({ code: -1, stderr: `cannot run python3 for the pty: ${e.message}` }));
    cp.on('close', (code) => resolve({ code, stderr: Buffer.concat(err).toString() }));
  });
  expect(r.code, `pseudo-terminal unavailable: ${r.stderr}`).not.toBe(97);
  expect(r.code, `pseudo-terminal helper failed: ${r.stderr}`).not.toBe(-1);
  expect(r.stderr, 'pty helper').not.toContain('PTY_TIMEOUT');
  return { code: r.code, screen: fs.existsSync(log) ? fs.readFileSync(log, 'latin1') : '', stderr: r.stderr };
}
