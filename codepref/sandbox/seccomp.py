"""The process backend's seccomp filter: Docker's default syscall allowlist, a little stricter, as BPF.

bubblewrap applies no filter of its own, so without this a job could call what Docker's default profile
refuses: the kernel keyring (state that outlives the job, read back by the next one), new namespaces,
ptrace, bpf, userfaultfd, mount... The filter is built with libseccomp (through pyseccomp's ctypes
bindings), exported as a BPF program, and handed to `bwrap --seccomp FD`, which loads it right before it
execs the runner. Like Docker's profile it is an allowlist: anything not named below fails with EPERM,
including syscalls newer than libseccomp's table; nothing is killed.
"""

from __future__ import annotations

import errno
import os

# moby's profiles/seccomp/default.json as of Docker 25 (which dropped io_uring: its I/O bypasses seccomp), the
# unconditional SCMP_ACT_ALLOW list less the names that exist only on 32-bit ABIs: this filter is built for
# x86-64 or aarch64 only, and names the native architecture lacks (open, fork... on aarch64) are skipped.
DOCKER_ALLOWED = """
accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown clock_adjtime clock_getres
clock_gettime clock_nanosleep close close_range connect copy_file_range creat dup dup2 dup3 epoll_create
epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2
execve execveat exit exit_group faccessat faccessat2 fadvise64 fallocate fanotify_mark fchdir fchmod fchmodat
fchown fchownat fcntl fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstatfs fsync
ftruncate futex futex_waitv futimesat getcpu getcwd getdents getdents64 getegid geteuid getgid getgroups
getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresuid getrlimit
get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getxattr
inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents
io_pgetevents ioprio_get ioprio_set io_setup io_submit kill landlock_add_rule landlock_create_ruleset
landlock_restrict_self lchown lgetxattr link linkat listen listxattr llistxattr lremovexattr lseek lsetxattr
lstat madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall
mmap mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink mremap msgctl msgget
msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat open openat openat2 pause
pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll prctl pread64 preadv
preadv2 prlimit64 process_mrelease pselect6 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv
recvfrom recvmmsg recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min
sched_getscheduler sched_rr_get_interval sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop sendfile sendmmsg sendmsg sendto setfsgid setfsuid
setgid setgroups setitimer setpgid setpriority setregid setresgid setresuid setreuid setrlimit set_robust_list
setsid setsockopt set_thread_area set_tid_address setuid setxattr shmat shmctl shmdt shmget shutdown
sigaltstack signalfd signalfd4 socketpair splice stat statfs statx symlink symlinkat sync sync_file_range
syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_settime
timerfd_create timerfd_gettime timerfd_settime times tkill truncate umask uname unlink unlinkat utime
utimensat utimes vfork vmsplice wait4 waitid write writev
""".split()

# Stricter than Docker, which also allows ptrace and process_vm_readv/writev (kernels >= 4.8; not here):
# name_to_handle_at leaks file handles (half of the open_by_handle_at escape); adjtimex and clock_adjtime can
# only read the clock without CAP_SYS_TIME, and no job needs that.
DENIED_HERE = ("name_to_handle_at", "adjtimex", "clock_adjtime")

ARCH_ALLOWED = {"x86_64": ("arch_prctl", "modify_ldt"), "aarch64": ()}  # Docker's per-architecture entries

# clone may not create namespaces (Docker's mask: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET).
CLONE_NAMESPACE_FLAGS = 0x7E020000
# personality: the default domain, PER_LINUX32, UNAME26, both, and the query (0xffffffff), as Docker allows.
PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
AF_VSOCK = 40  # the one socket family Docker refuses: it reaches the hypervisor, outside every namespace


class SeccompUnavailable(RuntimeError):
    pass


def _pyseccomp():
    try:
        import pyseccomp
    except ImportError as exc:
        raise SeccompUnavailable(
            "the process sandbox's seccomp filter needs pyseccomp: pip install pyseccomp==0.1.2"
        ) from exc
    except RuntimeError as exc:  # pyseccomp raises this at import when it finds no libseccomp.so
        raise SeccompUnavailable(
            "the process sandbox's seccomp filter needs libseccomp: apt-get install -y libseccomp2"
        ) from exc
    return pyseccomp


def native_arch() -> str:
    """The native architecture's name, if this filter is written for it; SeccompUnavailable if not."""
    seccomp = _pyseccomp()
    names = {seccomp.Arch.X86_64: "x86_64", seccomp.Arch.AARCH64: "aarch64"}
    arch = names.get(seccomp.system_arch())
    if arch is None:
        raise SeccompUnavailable(
            f"no seccomp filter for this architecture ({os.uname().machine}): the process sandbox's filter "
            "is written for x86_64 and aarch64 only (clone's flags argument moves elsewhere); use Docker"
        )
    return arch


def syscall_number(name: str) -> int:
    """The native number of a syscall, or a negative number where this architecture has none."""
    seccomp = _pyseccomp()
    return seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)


def allowed_syscalls() -> list[str]:
    """Every name the filter allows unconditionally on this architecture."""
    names = [name for name in DOCKER_ALLOWED if name not in DENIED_HERE] + list(ARCH_ALLOWED[native_arch()])
    return [name for name in names if syscall_number(name) >= 0]


def compile_filter() -> bytes:
    """The filter as a BPF program for `bwrap --seccomp`: built once, loaded by every sandbox start."""
    seccomp = _pyseccomp()
    deny = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(deny)
    rules.set_attr(seccomp.Attr.ACT_BADARCH, deny)  # 32-bit (int 0x80) and x32 calls: refused, not killed
    rules.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)  # a binary tree of syscall numbers, not a linear scan
    for name in allowed_syscalls():
        rules.add_rule(seccomp.ALLOW, name)
    rules.add_rule(seccomp.ALLOW, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NAMESPACE_FLAGS, 0))
    # clone3 passes its flags in memory, out of a filter's reach: ENOSYS makes libc fall back to clone.
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for persona in PERSONALITIES:
        rules.add_rule(seccomp.ALLOW, "personality", seccomp.Arg(0, seccomp.EQ, persona))
    rules.add_rule(seccomp.ALLOW, "socket", seccomp.Arg(0, seccomp.NE, AF_VSOCK))
    with os.fdopen(os.memfd_create("codepref-seccomp-build"), "w+b") as sink:
        rules.export_bpf(sink)
        sink.seek(0)
        return sink.read()


def program_fd(program: bytes) -> int:
    """A fresh, rewound memfd holding the program: bwrap reads FD to its end, so each start needs its own."""
    fd = os.memfd_create("codepref-seccomp")
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
