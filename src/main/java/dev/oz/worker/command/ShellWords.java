package dev.oz.worker.command;

import java.util.Set;

/** Just enough of shell syntax to name the program a simple command line starts, for readiness checks. */
final class ShellWords {
  private static final Set<String> BUILTINS = Set.of("!", ".", ":", "[", "alias", "break", "case", "cd", "command",
      "continue", "echo", "eval", "exit", "export", "false", "for", "function", "if", "printf", "read", "readonly",
      "return", "set", "shift", "test", "trap", "true", "type", "ulimit", "umask", "unset", "until", "wait", "while",
      "{", "(");

  private ShellWords() {
  }

  /**
   * The executable a command line such as {@code FOO=1 exec python3 /opt/dispatch.py} runs ({@code python3}), or
   * null when that takes more than a plain word to know (quotes, expansions, a builtin, a compound command).
   */
  static String firstProgram(String commandLine) {
    for (String word : commandLine.strip().split("[ \t]+")) {
      if (word.matches("[A-Za-z_][A-Za-z0-9_]*=[^$`\"'\\\\]*")) {
        continue; // an assignment before the command
      }
      if (word.equals("exec")) {
        continue;
      }
      if (BUILTINS.contains(word) || !word.matches("[A-Za-z0-9_./+-]+")) {
        return null;
      }
      return word;
    }
    return null;
  }
}
