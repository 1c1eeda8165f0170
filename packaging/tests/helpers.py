#!/usr/bin/python3
"""Small helpers for packaging/tests/run.sh that a shell does badly.

  helpers.py notify-listen SOCKET LOG SECONDS
      Plays systemd's side of sd_notify: receives datagrams on the Unix socket
      SOCKET (what $NOTIFY_SOCKET points to) and appends each message to LOG, one
      line per datagram (newlines inside a message become spaces). Stops after
      SECONDS or when LOG's folder gets a file named "stop".

  helpers.py image-stats FILE.ppm
      Prints "WIDTH HEIGHT COLOURS" of a binary PPM (P6, as grim -t ppm writes):
      how many distinct colours the picture has. A session that drew nothing is
      one colour; a real screen has many.

  helpers.py wait-for-line LOG TEXT SECONDS [PID]
      Exits 0 as soon as a line of LOG contains TEXT, 1 after SECONDS, or 1 at
      once when process PID has ended (the session died: no use waiting).

  helpers.py wait-for-file PATH SECONDS
      Exits 0 as soon as PATH exists, 1 after SECONDS.

Only the Python standard library: runs on a plain Debian 12.
"""

import os
import socket
import sys
import time


def notify_listen(path: str, log_path: str, seconds: float) -> int:
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    # The app runs as the unprivileged kiosk user and must be able to send.
    os.chmod(path, 0o666)
    sock.settimeout(0.2)
    stop_file = os.path.join(os.path.dirname(log_path), "stop")
    deadline = time.monotonic() + seconds
    with open(log_path, "a", encoding="utf-8") as log:
        while time.monotonic() < deadline and not os.path.exists(stop_file):
            try:
                data = sock.recv(4096)
            except socket.timeout:
                continue
            text = data.decode("utf-8", "replace").replace("\n", " ").strip()
            log.write(f"{time.monotonic():.3f} {text}\n")
            log.flush()
    sock.close()
    os.unlink(path)
    return 0


def image_stats(path: str) -> int:
    with open(path, "rb") as f:
        data = f.read()
    # Header: "P6" whitespace width whitespace height whitespace maxval one-whitespace.
    fields = []
    pos = 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            while data[pos : pos + 1] not in (b"\n", b""):
                pos += 1
            continue
        start = pos
        while not data[pos : pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    pos += 1
    if fields[0] != b"P6" or fields[3] != b"255":
        print(f"error: {path} is not an 8-bit binary PPM (P6)", file=sys.stderr)
        return 1
    width, height = int(fields[1]), int(fields[2])
    pixels = data[pos : pos + width * height * 3]
    if len(pixels) != width * height * 3:
        print(f"error: {path} is cut short", file=sys.stderr)
        return 1
    colours = {pixels[i : i + 3] for i in range(0, len(pixels), 3)}
    print(width, height, len(colours))
    return 0


def wait_for_line(log_path: str, text: str, seconds: float, pid: int = 0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(log_path, encoding="utf-8", errors="replace") as log:
                if any(text in line for line in log):
                    return 0
        except FileNotFoundError:
            pass
        if pid and not os.path.exists(f"/proc/{pid}"):
            return 1
        time.sleep(0.2)
    return 1


def wait_for_file(path: str, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return 0
        time.sleep(0.05)
    return 1


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "notify-listen":
        return notify_listen(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    if len(sys.argv) == 3 and sys.argv[1] == "image-stats":
        return image_stats(sys.argv[2])
    if len(sys.argv) in (5, 6) and sys.argv[1] == "wait-for-line":
        pid = int(sys.argv[5]) if len(sys.argv) == 6 else 0
        return wait_for_line(sys.argv[2], sys.argv[3], float(sys.argv[4]), pid)
    if len(sys.argv) == 4 and sys.argv[1] == "wait-for-file":
        return wait_for_file(sys.argv[2], float(sys.argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
