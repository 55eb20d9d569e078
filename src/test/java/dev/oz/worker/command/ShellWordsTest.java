package dev.oz.worker.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class ShellWordsTest {
  @Test
  void wordsAreSplitAndUnquotedAsShDoes() {
    assertEquals(List.of("python3", "/opt/oz/dispatch.py", "--flag=x"),
        ShellWords.split("  python3\t/opt/oz/dispatch.py --flag=x "));
    assertEquals(List.of("a b", "$HOME", "say \"hi\" $x `y` \\z", "it's", "x y", "ab", "a#b", "a~"),
        ShellWords.split("'a b' '$HOME' \"say \\\"hi\\\" \\$x \\`y\\` \\\\z\" \"it's\" x\\ y a\\\nb a#b a~"));
    assertEquals(List.of("prog", ""), ShellWords.split("prog ''"));
    assertEquals(List.of("echo", "--x=1"), ShellWords.split("echo --x=1"), "echo is also a program");
  }

  @Test
  void whatOnlyAShellRunsIsNamed() {
    for (String[] c : new String[][] {
        {"a | b", "an operator \"|\""},
        {"a && b", "an operator \"&\""},
        {"a; b", "an operator \";\""},
        {"(a)", "an operator \"(\""},
        {"cat > x", "a redirection \">\""},
        {"cat<x", "a redirection \"<\""},
        {"echo $HOME", "an expansion \"$\""},
        {"echo \"$HOME\"", "an expansion \"$\" inside double quotes"},
        {"echo `id`", "an expansion \"`\""},
        {"ls *.json", "a pattern \"*\""},
        {"prog # note", "a comment \"#\""},
        {"ls ~/x", "a home directory \"~\""},
        {"FOO=1 prog", "a variable assignment \"FOO=1\""},
        {"exec prog", "the shell builtin \"exec\""},
        {"cd /x", "the shell builtin \"cd\""},
        {"echo 'open", "an unterminated single quote"},
        {"echo \"open", "an unterminated double quote"},
        {"prog \\", "a trailing backslash"},
        {"  ", "no program"}}) {
      assertEquals(c[1], assertThrows(ShellWords.NeedsShell.class, () -> ShellWords.split(c[0])).getMessage(), c[0]);
    }
  }
}
