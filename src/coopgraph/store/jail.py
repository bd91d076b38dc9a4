"""Confine a query worker with the operating system, so that no query text can turn it
against its host.

A worker process that evaluates SPARQL from the outside calls :func:`confine` once, after
it is forked and before it reads its first job. From then on, whatever the engine is asked
to do (``SERVICE``, ``LOAD``, ``FROM <file:...>``, a bug in a parser), the kernel refuses:

- **the network**: a seccomp filter makes ``socket``, ``connect``, ``bind``, ``listen``,
  ``accept`` and ``io_uring_setup`` fail with ``EACCES`` (the worker talks to the web
  process over the socket pair it was given, which needs none of them); Landlock, where
  the kernel has network rules (ABI 4), refuses TCP connect and bind as well;
- **files**: Landlock refuses every file system access except reading below the folders
  named in :attr:`Confinement.read_paths` (an on-disk store); an in-memory store needs no
  file at all;
- **memory**: ``RLIMIT_DATA``, set on the worker by the pool that forked it
  (:func:`limit_memory`), caps the memory it may allocate beyond what it holds when it is
  handed out (the copy-on-write image of the store it shares with its parent); the worker
  cannot raise it (seccomp refuses ``setrlimit`` and ``prlimit64``). Past it, an
  allocation fails: Python raises :class:`MemoryError`, Rust code (pyoxigraph) aborts the
  process. Either way the job ends and the worker is replaced.

Landlock also scopes signals and abstract UNIX sockets to the worker (ABI 6), so a worker
cannot signal the processes around it.

The filters stay for the life of the process and are inherited by its children; confining a
process that is already confined does nothing, so a confined worker may fork others (see
:mod:`coopgraph.store.sandbox`, where an update's worker becomes the next generation's zygote).

Linux only; :func:`support` says what this kernel offers. Without seccomp the endpoint does
not start (see :func:`require`), unless confinement is explicitly switched off.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import resource
import struct
import sys
from dataclasses import dataclass
from functools import cache

from coopgraph.errors import CoopgraphError


class JailError(CoopgraphError):
    """The worker could not be confined as asked."""


@dataclass(frozen=True)
class Confinement:
    """What a confined worker may still do.

    Attributes:
        memory_bytes: Bytes the worker may allocate beyond its size when it is handed out
            (0: no limit); set by the pool, see :func:`limit_memory`.
        read_paths: Folders whose files the worker may read (an on-disk store); nothing
            else of the file system is reachable.
    """

    memory_bytes: int = 0
    read_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Support:
    """What this kernel offers for confinement.

    Attributes:
        seccomp: System calls can be filtered (the network guard).
        landlock: The Landlock ABI version (0: none): file access rules from 1, TCP rules
            from 4, signal and abstract-socket scoping from 6.
    """

    seccomp: bool
    landlock: int

    def describe(self) -> str:
        """One line for the logs."""
        parts = ["seccomp" if self.seccomp else "no seccomp"]
        parts.append(f"Landlock ABI {self.landlock}" if self.landlock else "no Landlock")
        return ", ".join(parts)


#: Set in a process once it is confined (inherited by its forks).
_confined = False

# ---------------------------------------------------------------------- system interface

_PR_SET_NO_NEW_PRIVS = 38
_PR_GET_SECCOMP = 21

# Classic BPF, as seccomp runs it.
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
#: Offsets in struct seccomp_data.
_NR, _ARCH = 0, 4
#: x86_64's x32 system calls have this bit set: refused as a whole.
_X32_BIT = 0x40000000

#: Per architecture: its audit number, and the numbers of the system calls refused.
_ARCHES = {
    "x86_64": (
        0xC000003E,
        {
            "socket": 41,
            "connect": 42,
            "accept": 43,
            "bind": 49,
            "listen": 50,
            "accept4": 288,
            "setrlimit": 160,
            "prlimit64": 302,
            "io_uring_setup": 425,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "socket": 198,
            "bind": 200,
            "listen": 201,
            "accept": 202,
            "connect": 203,
            "accept4": 242,
            "setrlimit": 164,
            "prlimit64": 261,
            "io_uring_setup": 425,
        },
    ),
}

_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3


@cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    libc.prctl.restype = ctypes.c_int
    return libc


def _fail(what: str) -> JailError:
    code = ctypes.get_errno()
    return JailError(f"{what} failed: {os.strerror(code) if code else 'unknown error'}")


@cache
def support() -> Support:
    """What this kernel offers (asked once per process)."""
    if sys.platform != "linux" or platform.machine() not in _ARCHES:
        return Support(False, 0)
    libc = _libc()
    seccomp = libc.prctl(_PR_GET_SECCOMP, 0, 0, 0, 0) >= 0
    abi = libc.syscall(
        _SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), _LANDLOCK_CREATE_RULESET_VERSION
    )
    return Support(seccomp, max(0, int(abi)))


def require(spec: Confinement) -> Support:
    """Check, before any worker starts, that this kernel can confine workers as ``spec`` asks.

    Raises:
        JailError: without seccomp, or when files must be readable (an on-disk store) and
            the kernel has no Landlock to say which.
    """
    found = support()
    if not found.seccomp:
        raise JailError(
            "this system cannot confine query workers (no seccomp: Linux on x86_64 or "
            "aarch64 is needed), so it cannot keep queries off the network; set "
            "confine_workers to false only on a machine no one else can query"
        )
    if spec.read_paths and not found.landlock:
        raise JailError(
            "this kernel has no Landlock (Linux 5.13 or newer), so a query worker of the "
            "on-disk store cannot be kept from reading other files; serve the store in "
            "memory, or set confine_workers to false on a machine no one else can query"
        )
    return found


def confined() -> bool:
    """Whether this process has been confined."""
    return _confined


def confine(spec: Confinement) -> None:
    """Confine the calling process as ``spec`` says: seccomp on all its threads, Landlock
    on the calling one and those it starts (so call it before starting any), but for
    its memory, which the process that forked it limits (:func:`limit_memory`): a confined
    process can no longer read its own size.

    Raises:
        JailError: when a filter cannot be installed.
    """
    global _confined
    if _confined:
        return
    found = support()
    if found.landlock:
        _landlock(found.landlock, spec.read_paths)
    elif spec.read_paths:
        raise JailError("Landlock is needed to let a worker read only its store's folder")
    _seccomp(deny_files=not found.landlock)
    _confined = True


def data_size(pid: int) -> int:
    """The bytes of private writable memory process ``pid`` has mapped (``VmData``)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def limit_memory(pid: int, extra: int) -> None:
    """Let process ``pid`` allocate at most ``extra`` bytes more than it has mapped now.

    Only the soft limit is set, so that a fork of that process may be given its own.

    Raises:
        JailError: when the process cannot be read or limited.
    """
    try:
        _, hard = resource.prlimit(pid, resource.RLIMIT_DATA)
        soft = data_size(pid) + extra
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.prlimit(pid, resource.RLIMIT_DATA, (soft, hard))
    except (OSError, ValueError) as err:
        raise JailError(f"limiting the memory of process {pid} failed: {err}") from None


def _landlock(abi: int, read_paths: tuple[str, ...]) -> None:
    """Refuse every file access but reading below ``read_paths``; TCP and scoping too."""
    libc = _libc()
    fs = (1 << 13) - 1  # execute .. make_sym: every right of ABI 1
    if abi >= 2:
        fs |= 1 << 13  # refer
    if abi >= 3:
        fs |= 1 << 14  # truncate
    if abi >= 5:
        fs |= 1 << 15  # ioctl on devices
    net = 0b11 if abi >= 4 else 0  # bind_tcp, connect_tcp
    scoped = 0b11 if abi >= 6 else 0  # abstract UNIX sockets, signals
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    attr = ctypes.create_string_buffer(struct.pack("=QQQ", fs, net, scoped)[:size], size)
    ruleset = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, attr, ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise _fail("creating the Landlock rule set")
    try:
        for folder in read_paths:
            handle = os.open(folder, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = ctypes.create_string_buffer(
                    struct.pack("=Qi", _FS_READ_FILE | _FS_READ_DIR, handle), 12
                )
                if libc.syscall(
                    _SYS_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, rule, 0
                ):
                    raise _fail(f"allowing reads below {folder}")
            finally:
                os.close(handle)
        _no_new_privileges()
        if libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0):
            raise _fail("entering the Landlock domain")
    finally:
        os.close(ruleset)


def _no_new_privileges() -> None:
    if _libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
        raise _fail("setting no_new_privs")


def _seccomp(deny_files: bool) -> None:
    """Install the filter; with ``deny_files`` (no Landlock) opening any file fails too."""
    arch, numbers = _ARCHES[platform.machine()]
    refused = sorted(numbers.values())
    if deny_files:
        refused += sorted(_OPEN_CALLS[platform.machine()])
    program = _filter(arch, refused)
    code = ctypes.create_string_buffer(program, len(program))
    fprog = ctypes.create_string_buffer(
        struct.pack("=HxxxxxxQ", len(program) // 8, ctypes.addressof(code)), 16
    )
    _no_new_privileges()
    # On every thread of the process (a store may have started some when it was opened).
    if _libc().syscall(_SECCOMP_CALLS[platform.machine()], 1, 1, ctypes.byref(fprog)):
        raise _fail("installing the seccomp filter")


#: seccomp(2) itself, called with SECCOMP_SET_MODE_FILTER and SECCOMP_FILTER_FLAG_TSYNC.
_SECCOMP_CALLS = {"x86_64": 317, "aarch64": 277}

#: Without Landlock: the calls that open a file (open, openat, creat, openat2).
_OPEN_CALLS = {"x86_64": (2, 257, 85, 437), "aarch64": (56, 437)}


def _filter(arch: int, refused: list[int]) -> bytes:
    """A BPF program: kill a foreign architecture, refuse ``refused`` with EACCES."""

    def stmt(code: int, k: int) -> bytes:
        return struct.pack("=HBBI", code, 0, 0, k)

    def jump(code: int, k: int, true: int, false: int) -> bytes:
        return struct.pack("=HBBI", code, true, false, k)

    deny = _RET_ERRNO | errno.EACCES
    program = [
        stmt(_LD_W_ABS, _ARCH),
        jump(_JEQ_K, arch, 1, 0),
        stmt(_RET_K, _RET_KILL_PROCESS),
        stmt(_LD_W_ABS, _NR),
        jump(_JGE_K, _X32_BIT, len(refused) + 1, 0),
    ]
    for index, number in enumerate(refused):
        program.append(jump(_JEQ_K, number, len(refused) - index, 0))
    program.append(stmt(_RET_K, _RET_ALLOW))
    program.append(stmt(_RET_K, deny))
    return b"".join(program)


def refused(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is the kernel refusing a confined worker."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PermissionError) or getattr(current, "errno", None) == errno.EACCES:
            return True
        text = str(current)
        if "Permission denied" in text or "os error 13" in text:
            return True
        current = current.__cause__ or current.__context__
    return False


with contextlib.suppress(Exception):  # load the C library before any fork
    _libc()
