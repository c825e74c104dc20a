#!/usr/bin/env python3
"""Checks a running localftp server built for Windows (server.exe under Wine), from Linux.

Run by `.ci/platforms`; standard library only. It plays the seed's flow with ftplib, then
tries every kind of name that means more than a name on Windows, and expects 553 with a
reason for each. At the end nothing outside the server's root may have changed and the seed
files must be intact. It stops at the first failure, with a message saying what was expected
and what came back, and exits 1.

    check_server.py --port 2150 --root /tmp/x/data --seed data/baca_saya.txt \\
        --watch /tmp/x --watch ~/.wine/drive_c

--root is the folder the server serves (read directly from Linux to compare files); every
--watch folder is compared before and after, the root excepted.
"""

import argparse
import ftplib
import io
import os
import sys

TIMEOUT = 30  # seconds, for the control connection and every data connection


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def step(message):
    print(f"  ok: {message}", flush=True)


def connect(args):
    ftp = ftplib.FTP(timeout=TIMEOUT)
    ftp.connect(args.host, args.port, timeout=TIMEOUT)
    return ftp


def reply_of(call):
    """The reply to `call()` (one ftplib call), whether it succeeded or raised ftplib.Error."""
    try:
        return str(call())
    except ftplib.Error as error:
        return str(error)


def snapshot(folder, skip):
    """Every entry below `folder` (but not below `skip`): its type, size and modification time."""
    entries = {}
    for parent, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if os.path.join(parent, d) != skip]
        for name in dirs + files:
            path = os.path.join(parent, name)
            info = os.lstat(path)
            kind = "dir" if os.path.isdir(path) else "file"
            size = info.st_size if kind == "file" else 0
            entries[os.path.relpath(path, folder)] = (kind, size, info.st_mtime_ns)
    return entries


def differences(before, after):
    lines = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            lines.append(f"    {name}: before {before.get(name)}, after {after.get(name)}")
    return "\n".join(lines)


def seed_flow(args, seed):
    """The seed's flow (its README): log in, PWD, LIST, RETR, STOR + RETR, CWD, the errors."""
    ftp = connect(args)
    welcome = ftp.getwelcome()
    check(welcome.startswith("220"), f"greeting: expected 220, got {welcome!r}")
    reply = ftp.login("user", "12345")
    check(reply.startswith("230"), f"USER user / PASS 12345: expected 230, got {reply!r}")
    step(f"login: {reply}")

    reply = ftp.sendcmd("PWD")
    check(reply.startswith('257 "/"'), f'PWD: expected 257 "/", got {reply!r}')
    step(f"PWD: {reply}")

    lines = []
    ftp.retrlines("LIST", lines.append)
    listing = "\n".join(lines)
    for name in ("baca_saya.txt", "Folder_Tes"):
        check(
            any(line.endswith(" " + name) for line in lines),
            f"LIST: expected {name}, got:\n{listing}",
        )
    step(f"LIST: {len(lines)} entries, baca_saya.txt and Folder_Tes among them")

    got = io.BytesIO()
    ftp.retrbinary("RETR baca_saya.txt", got.write)
    check(
        got.getvalue() == seed,
        f"RETR baca_saya.txt: expected the repository's {len(seed)} bytes, "
        f"got {len(got.getvalue())}: {got.getvalue()[:200]!r}",
    )
    step(f"RETR baca_saya.txt: {len(seed)} bytes, identical to data/baca_saya.txt")

    # Every byte value, CR LF and lone LF included, so a text-mode conversion would show.
    upload = bytes(range(256)) * 512 + b"line\r\nline\nend"
    ftp.storbinary("STOR wine_upload.bin", io.BytesIO(upload))
    back = io.BytesIO()
    ftp.retrbinary("RETR wine_upload.bin", back.write)
    check(
        back.getvalue() == upload,
        f"STOR then RETR wine_upload.bin: sent {len(upload)} bytes, got {len(back.getvalue())} "
        "back, not identical",
    )
    with open(os.path.join(args.root, "wine_upload.bin"), "rb") as stored:
        on_disk = stored.read()
    check(on_disk == upload, "STOR wine_upload.bin: the file on disk differs from the upload")
    step(f"STOR + RETR wine_upload.bin: {len(upload)} bytes, identical (and on disk)")

    reply = ftp.cwd("Folder_Tes")
    check(reply.startswith("250"), f"CWD Folder_Tes: expected 250, got {reply!r}")
    reply = ftp.sendcmd("PWD")
    check(
        reply.startswith('257 "/Folder_Tes"'),
        f'PWD after CWD Folder_Tes: expected 257 "/Folder_Tes", got {reply!r}',
    )
    step(f"CWD Folder_Tes, PWD: {reply}")

    reply = reply_of(lambda: ftp.cwd("/tidak_ada"))
    check(reply.startswith("550"), f"CWD /tidak_ada (missing): expected 550, got {reply!r}")
    step(f"CWD into a missing folder: {reply}")
    ftp.quit()

    ftp = connect(args)
    ftp.sendcmd("USER user")
    reply = reply_of(lambda: ftp.sendcmd("PASS wrong"))
    check(reply.startswith("530"), f"PASS wrong: expected 530, got {reply!r}")
    step(f"wrong password: {reply}")
    ftp.close()
    return ["wine_upload.bin"]


# Each kind of name that means more than a name on Windows, and words the 553 reply's reason
# must contain (one of them): the reason comes from `server::jail::windows_name_problem`.
BACKSLASH = ("backslash",)
COLON = ("colon",)
WINDOWS_NAMES = [
    ("drive letter", "C:", COLON),
    ("drive letter", "C:\\Windows", BACKSLASH + COLON),
    ("drive letter", "C:relative", COLON),
    ("drive letter", "Folder_Tes/C:relative", COLON),
    ("UNC path", "\\\\host\\share", BACKSLASH),
    ("device path", "\\\\?\\C:\\x", BACKSLASH + COLON),
    ("device path", "\\\\.\\PhysicalDrive0", BACKSLASH),
    ("backslash separator", "..\\..\\secret", BACKSLASH),
    ("backslash separator", "Folder_Tes\\..\\..\\secret", BACKSLASH),
    ("device name", "CON", ("device",)),
    ("device name", "nul.txt", ("device",)),
    ("device name", "COM1", ("device",)),
    ("device name", "LPT9.log", ("device",)),
    ("device name", "NUL .txt", ("device",)),
    ("device name", "Folder_Tes/aux", ("device",)),
    ("data stream", "baca_saya.txt:hidden", COLON),
    ("data stream", "baca_saya.txt::$DATA", COLON),
    ("data stream", "Folder_Tes:$INDEX_ALLOCATION", COLON),
    ("trailing dot", "baca_saya.txt.", ("trailing",)),
    ("trailing space", "baca_saya.txt ", ("trailing",)),
    ("trailing dots and spaces", "Folder_Tes. .", ("trailing",)),
    ("8.3 short name", "BACA_S~1.TXT", ("short name",)),
    ("8.3 short name", "FOLDER~1", ("short name",)),
]


def transfer_reply(ftp, command):
    """The reply to a transfer command, which ftplib sends after opening the data connection
    (PASV); if the server starts the transfer instead of refusing, the data connection is closed."""
    try:
        connection, _ = ftp.ntransfercmd(command)
    except ftplib.Error as error:
        return str(error)
    connection.close()
    return f"{ftp.lastresp} (the server started the transfer)"


def expect_553(what, reply, reasons):
    check(reply.startswith("553"), f"{what}: expected 553, got {reply!r}")
    text = reply[4:].lower()
    check(
        any(reason in text for reason in reasons),
        f"{what}: expected a reason mentioning {' or '.join(reasons)}, got {reply!r}",
    )


def windows_names(args):
    """Every Windows-special name with every command that takes a path: 553 and a reason (CWD:
    550, and the folder unchanged)."""
    ftp = connect(args)
    ftp.login("user", "12345")
    ftp.sendcmd("TYPE I")
    for kind, name, reasons in WINDOWS_NAMES:
        tried = []
        for verb in ("RETR", "STOR", "APPE"):
            # Refused before any data moves.
            reply = transfer_reply(ftp, f"{verb} {name}")
            expect_553(f"{verb} {name!r} ({kind})", reply, reasons)
            tried.append(verb)
        for verb in ("DELE", "MKD", "RMD", "SIZE", "MDTM", "MLST", "STAT", "RNFR"):
            reply = reply_of(lambda: ftp.sendcmd(f"{verb} {name}"))
            expect_553(f"{verb} {name!r} ({kind})", reply, reasons)
            tried.append(verb)
        # CWD says 550 "no such folder" for every folder it will not enter, by design
        # (`commands::access`: a refused folder and a missing one get the same words).
        reply = reply_of(lambda: ftp.cwd(name))
        check(reply.startswith("550"), f"CWD {name!r} ({kind}): expected 550, got {reply!r}")
        reply = ftp.sendcmd("PWD")
        check(reply.startswith('257 "/"'), f"PWD after CWD {name!r}: expected \"/\", got {reply!r}")
        # As the new name of an existing file.
        reply = ftp.sendcmd("RNFR wine_upload.bin")
        check(reply.startswith("350"), f"RNFR wine_upload.bin: expected 350, got {reply!r}")
        reply = reply_of(lambda: ftp.sendcmd(f"RNTO {name}"))
        expect_553(f"RNTO {name!r} ({kind})", reply, reasons)
        tried.append("RNTO")
        # And as the folder of a listing.
        for verb in ("LIST", "NLST", "MLSD"):
            reply = reply_of(lambda: ftp.retrlines(f"{verb} {name}", lambda line: None))
            expect_553(f"{verb} {name!r} ({kind})", reply, reasons)
            tried.append(verb)
        step(f"{kind} {name!r}: 553 for {' '.join(tried)}; CWD 550, folder unchanged")
    reply = ftp.sendcmd("PWD")
    check(reply.startswith('257 "/"'), f"PWD after the refusals: expected \"/\", got {reply!r}")
    ftp.quit()


def case_insensitive(args, seed):
    """On a case-insensitive disk (Windows; Wine imitates one) two names that differ only in
    case are one file: harmless to the jail, since both are looked up beneath the same home.
    The server's own prefix is refused in any case."""
    ftp = connect(args)
    ftp.login("user", "12345")
    ftp.voidcmd("TYPE I")
    ftp.storbinary("STOR Case.txt", io.BytesIO(b"first"))
    ftp.storbinary("STOR CASE.TXT", io.BytesIO(b"second"))
    same = [name for name in ftp.nlst() if name.lower() == "case.txt"]
    check(len(same) == 1, f"two names differing in case should be one file, NLST shows {same}")
    got = io.BytesIO()
    ftp.retrbinary("RETR case.txt", got.write)
    check(got.getvalue() == b"second", f"RETR case.txt gave {got.getvalue()!r}, not the last upload")
    step("STOR Case.txt then CASE.TXT is one file, and RETR case.txt reads the last upload")
    got = io.BytesIO()
    ftp.retrbinary("RETR BACA_SAYA.TXT", got.write)
    check(got.getvalue() == seed, "RETR BACA_SAYA.TXT did not give the seed file")
    step("RETR BACA_SAYA.TXT serves baca_saya.txt")
    expect_553("STOR .LOCALFTP-UPLOAD-x", transfer_reply(ftp, "STOR .LOCALFTP-UPLOAD-x"), ["server"])
    step("the server's own prefix is refused in capitals too (553)")
    ftp.delete("cAsE.TxT")
    check(not [n for n in ftp.nlst() if n.lower() == "case.txt"], "DELE cAsE.TxT left the file")
    step("DELE in another case removes it")
    ftp.quit()


def seed_intact(args, seed, uploaded, root_before):
    got = io.BytesIO()
    ftp = connect(args)
    ftp.login("user", "12345")
    ftp.retrbinary("RETR baca_saya.txt", got.write)
    ftp.quit()
    check(got.getvalue() == seed, "RETR baca_saya.txt at the end: no longer the seed's bytes")
    with open(os.path.join(args.root, "baca_saya.txt"), "rb") as on_disk:
        check(on_disk.read() == seed, "baca_saya.txt on disk is no longer the seed's")
    check(os.path.isdir(os.path.join(args.root, "Folder_Tes")), "Folder_Tes is gone")
    root_after = snapshot(args.root, None)
    for name in uploaded:
        root_after.pop(name, None)
        root_before.pop(name, None)
    changed = differences(root_before, root_after)
    check(not changed, f"the server's root changed beyond the uploads:\n{changed}")
    step("the seed files are intact, and the root holds nothing else new")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True, help="the folder the server serves")
    parser.add_argument("--seed", required=True, help="the repository's data/baca_saya.txt")
    parser.add_argument("--watch", action="append", default=[], help="must not change")
    args = parser.parse_args()
    args.root = os.path.realpath(args.root)
    with open(args.seed, "rb") as seed_file:
        seed = seed_file.read()

    watched = {folder: snapshot(folder, args.root) for folder in args.watch}
    root_before = snapshot(args.root, None)
    try:
        print("seed flow (ftplib):", flush=True)
        uploaded = seed_flow(args, seed)
        print("Windows names (553 with a reason; CWD 550 and no change):", flush=True)
        windows_names(args)
        print("names that differ only in case:", flush=True)
        case_insensitive(args, seed)
        print("afterwards:", flush=True)
        seed_intact(args, seed, uploaded, root_before)
        for folder, before in watched.items():
            changed = differences(before, snapshot(folder, args.root))
            check(not changed, f"{folder} changed outside the server's root:\n{changed}")
            step(f"nothing changed in {folder} (outside the root)")
    except (CheckFailed, ftplib.Error, OSError, EOFError) as failure:
        kind = "" if isinstance(failure, CheckFailed) else f"{type(failure).__name__}: "
        print(f"FAILED: {kind}{failure}", file=sys.stderr, flush=True)
        sys.exit(1)
    print("check_server.py: all checks passed", flush=True)


if __name__ == "__main__":
    main()
