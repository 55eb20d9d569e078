package dev.oz.worker.command;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Just enough of shell syntax to run a simple command line without a shell: its words, quoted as {@code sh} quotes
 * them, and a refusal naming the first thing only a shell can do (a pipe, a redirection, an expansion, ...).
 */
final class ShellWords {
  private static final Set<String> BUILTINS = Set.of("!", ".", ":", "[", "alias", "break", "case", "cd", "command",
      "continue", "echo", "eval", "exec", "exit", "export", "false", "for", "function", "if", "printf", "read",
      "readonly", "return", "set", "shift", "test", "trap", "true", "type", "ulimit", "umask", "unset", "until", "wait",
      "while", "{", "(");
  /** Words that only a shell runs: reserved words and builtins with no program of the same name. */
  private static final Set<String> SHELL_ONLY = Set.of("!", ".", ":", "alias", "break", "case", "cd", "continue",
      "eval", "exec", "exit", "export", "for", "function", "if", "readonly", "return", "set", "shift", "source", "trap",
      "ulimit", "umask", "unset", "until", "while", "{", "}", "[[");

  /** A command line that a shell would read differently from a plain program and its arguments. */
  static final class NeedsShell extends IllegalArgumentException {
    NeedsShell(String what) {
      super(what);
    }
  }

  private ShellWords() {
  }

  /**
   * The executable a command line such as {@code FOO=1 exec python3 /opt/dispatch.py} runs ({@code python3}), or
   * null when that takes more than a plain word to know (quotes, expansions, a builtin, a compound command). For a
   * command line run with a shell.
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

  /**
   * The words of {@code commandLine} as {@code sh} would pass them to a program: split at unquoted blanks, with
   * single quotes, double quotes and backslashes removed as the shell removes them.
   *
   * @throws NeedsShell naming the first construct that only a shell runs (operators, redirections, expansions,
   *     globs, comments, assignments, builtins), or an unterminated quote
   */
  static List<String> split(String commandLine) {
    List<String> words = new ArrayList<>();
    StringBuilder word = null;
    int i = 0;
    int n = commandLine.length();
    while (i < n) {
      char c = commandLine.charAt(i);
      boolean wordStart = word == null;
      switch (c) {
        case ' ', '\t', '\n' -> {
          if (word != null) {
            words.add(word.toString());
            word = null;
          }
          i++;
          continue;
        }
        case '\'' -> {
          int end = commandLine.indexOf('\'', i + 1);
          if (end < 0) {
            throw new NeedsShell("an unterminated single quote");
          }
          word = append(word, commandLine.substring(i + 1, end));
          i = end + 1;
          continue;
        }
        case '"' -> {
          StringBuilder quoted = new StringBuilder();
          int j = i + 1;
          for (; j < n && commandLine.charAt(j) != '"'; j++) {
            char q = commandLine.charAt(j);
            if (q == '$' || q == '`') {
              throw new NeedsShell("an expansion \"" + q + "\" inside double quotes");
            }
            if (q == '\\' && j + 1 < n && "$`\"\\\n".indexOf(commandLine.charAt(j + 1)) >= 0) {
              j++;
              if (commandLine.charAt(j) == '\n') {
                continue;
              }
              quoted.append(commandLine.charAt(j));
            } else {
              quoted.append(q);
            }
          }
          if (j >= n) {
            throw new NeedsShell("an unterminated double quote");
          }
          word = append(word, quoted.toString());
          i = j + 1;
          continue;
        }
        case '\\' -> {
          if (i + 1 >= n) {
            throw new NeedsShell("a trailing backslash");
          }
          if (commandLine.charAt(i + 1) != '\n') { // backslash-newline joins lines
            word = append(word, String.valueOf(commandLine.charAt(i + 1)));
          }
          i += 2;
          continue;
        }
        case '|', '&', ';', '(', ')' -> throw new NeedsShell("an operator \"" + c + "\"");
        case '<', '>' -> throw new NeedsShell("a redirection \"" + c + "\"");
        case '$', '`' -> throw new NeedsShell("an expansion \"" + c + "\"");
        case '*', '?', '[' -> throw new NeedsShell("a pattern \"" + c + "\"");
        case '#', '~' -> {
          if (wordStart) {
            throw new NeedsShell(c == '#' ? "a comment \"#\"" : "a home directory \"~\"");
          }
        }
        default -> {
          // a plain character
        }
      }
      word = append(word, String.valueOf(c));
      i++;
    }
    if (word != null) {
      words.add(word.toString());
    }
    if (words.isEmpty()) {
      throw new NeedsShell("no program");
    }
    String program = words.get(0);
    if (program.matches("[A-Za-z_][A-Za-z0-9_]*=.*")) {
      throw new NeedsShell("a variable assignment \"" + program + "\"");
    }
    if (SHELL_ONLY.contains(program)) {
      throw new NeedsShell("the shell builtin \"" + program + "\"");
    }
    return List.copyOf(words);
  }

  private static StringBuilder append(StringBuilder word, String text) {
    return (word == null ? new StringBuilder() : word).append(text);
  }
}
