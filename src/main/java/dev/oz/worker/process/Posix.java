package dev.oz.worker.process;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/** The two libc calls the JDK does not offer: signalling a process group, and peeking at an exit without reaping. */
final class Posix {
  static final int SIGKILL = 9;
  static final int SIGTERM = 15;
  /** Reported while a child runs or after it was reaped by someone else. */
  static final int NOT_EXITED = Integer.MIN_VALUE;

  private static final int P_PID = 1;
  private static final int WNOHANG = 1;
  private static final int WEXITED = 4;
  private static final int WNOWAIT = 0x01000000;
  private static final int CLD_EXITED = 1;
  /** siginfo_t: si_code at 8, si_pid at 16, si_status at 24 (the same on x86_64 and aarch64 Linux). */
  private static final int SI_CODE = 8;
  private static final int SI_PID = 16;
  private static final int SI_STATUS = 24;
  private static final int SIGINFO_SIZE = 128;

  interface LibC extends Library {
    int kill(int pid, int sig);

    int waitid(int idtype, int id, Pointer infop, int options);
  }

  private static final LibC C = Native.load("c", LibC.class);

  private Posix() {
  }

  /** Sends {@code signal} to every process of group {@code pgid}; false when none is left. */
  static boolean signalGroup(int pgid, int signal) {
    return pgid > 1 && C.kill(-pgid, signal) == 0;
  }

  /**
   * The exit status of child {@code pid} if it has exited, without reaping it (NuProcess reaps it later), as a shell
   * reports it: the exit code, or 128 + the signal that killed it; {@link #NOT_EXITED} otherwise.
   */
  static int peekExit(int pid) {
    Memory info = new Memory(SIGINFO_SIZE);
    info.clear();
    if (C.waitid(P_PID, pid, info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.getInt(SI_PID) == 0) {
      return NOT_EXITED;
    }
    int status = info.getInt(SI_STATUS);
    return info.getInt(SI_CODE) == CLD_EXITED ? status : 128 + status;
  }
}
