#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal for the jitctl tests.

usage: pty-run.py SCRIPT_JSON -- CMD ARGS...

SCRIPT_JSON is a list of steps: ["expect", "text"] waits until the output so far (after the
previous expect) contains text; ["send", "text"] writes text to the terminal ("\\x03" is Ctrl-C).
Everything the command wrote is copied to stdout; the exit status is the command's (128+N for a
signal). Gives up after 20 s.
"""
import json, os, pty, select, sys, time

def main():
    sep = sys.argv.index('--')
    steps = json.loads(sys.argv[1])
    cmd = sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b''
    mark = 0
    deadline = time.time() + 20

    def read_some(timeout):
        nonlocal out
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        out += data
        return True

    alive = True
    for kind, text in steps:
        if kind == 'expect':
            want = text.encode()
            while alive and want not in out[mark:]:
                if time.time() > deadline:
                    sys.stdout.buffer.write(out)
                    sys.stderr.write('pty-run: timed out waiting for %r\n' % text)
                    os.kill(pid, 9)
                    sys.exit(124)
                alive = read_some(0.1)
            mark = out.index(want, mark) + len(want) if want in out[mark:] else len(out)
        else:
            os.write(fd, text.encode())
    while alive and time.time() < deadline:
        alive = read_some(0.1)
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))

main()
