package dev.oz.worker.direct;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The environment file a setup command writes ({@code OZ_ENVIRONMENT_FILE}), read as the Go worker reads it
 * (godotenv 1.5): {@code KEY=VALUE} or {@code KEY: VALUE}, an optional {@code export}, {@code #} comments (inline
 * ones after a space), single quotes literal, double quotes with {@code \n}/{@code \r} escapes and {@code $VAR} /
 * {@code ${VAR}} taken from keys earlier in the file, unquoted values trimmed and expanded the same way; a quoted
 * value may span lines. A malformed file is an error as a whole, never a partial result.
 */
final class DotEnv {
  private static final Pattern ESCAPE = Pattern.compile("\\\\.");
  private static final Pattern EXPAND = Pattern.compile("(\\\\)?(\\$)(\\()?\\{?([A-Z0-9_]+)?\\}?");
  private static final Pattern UNESCAPE = Pattern.compile("\\\\([^$])");

  static final class ParseException extends Exception {
    ParseException(String message) {
      super(message);
    }
  }

  private DotEnv() {
  }

  static Map<String, String> parse(String text) throws ParseException {
    Map<String, String> out = new LinkedHashMap<>();
    String src = text.replace("\r\n", "\n");
    int pos = 0;
    while (true) {
      pos = statementStart(src, pos);
      if (pos < 0) {
        return out;
      }
      // the key: letters, digits, '_' and '.', up to '=' or ':'
      int i = pos;
      while (i < src.length() && isSpace(src.charAt(i))) {
        i++;
      }
      if (src.startsWith("export", i) && i + 6 < src.length() && isSpace(src.charAt(i + 6))) {
        i += 6;
        while (i < src.length() && isSpace(src.charAt(i))) {
          i++;
        }
      }
      int keyStart = i;
      String key = null;
      for (; i < src.length(); i++) {
        char c = src.charAt(i);
        if (isSpace(c)) {
          continue;
        }
        if (c == '=' || c == ':') {
          key = src.substring(keyStart, i).stripTrailing();
          i++;
          break;
        }
        if (c != '_' && c != '.' && !Character.isLetterOrDigit(c)) {
          throw new ParseException("unexpected character \"" + c + "\" in variable name");
        }
      }
      if (key == null) {
        throw new ParseException("a line without \"=\" at the end of the file");
      }
      while (i < src.length() && isSpace(src.charAt(i))) {
        i++;
      }
      pos = value(src, i, key, out);
    }
  }

  /** Skips blank space and comment lines; -1 at the end. */
  private static int statementStart(String src, int pos) {
    while (true) {
      while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) {
        pos++;
      }
      if (pos >= src.length()) {
        return -1;
      }
      if (src.charAt(pos) != '#') {
        return pos;
      }
      int nl = src.indexOf('\n', pos);
      if (nl < 0) {
        return -1;
      }
      pos = nl;
    }
  }

  /** Reads the value at {@code i} into {@code out}; returns where the next statement may start. */
  private static int value(String src, int i, String key, Map<String, String> out) throws ParseException {
    char quote = i < src.length() ? src.charAt(i) : 0;
    if (quote != '"' && quote != '\'') {
      int eol = i;
      while (eol < src.length() && src.charAt(eol) != '\n' && src.charAt(eol) != '\r') {
        eol++;
      }
      String line = src.substring(i, eol);
      int end = line.length();
      for (int j = end - 1; j > 0; j--) {
        if (line.charAt(j) == '#' && isSpace(line.charAt(j - 1))) {
          end = j;
          break;
        }
      }
      out.put(key, expand(trimSpace(line.substring(0, end)), out));
      return eol;
    }
    for (int j = i + 1; j < src.length(); j++) {
      if (src.charAt(j) != quote || src.charAt(j - 1) == '\\') {
        continue;
      }
      String v = trimChar(src.substring(i, j), quote);
      if (quote == '"') {
        v = expand(unescape(v), out);
      }
      out.put(key, v);
      return j + 1;
    }
    throw new ParseException("unterminated quoted value for " + key);
  }

  private static String unescape(String s) {
    String out = ESCAPE.matcher(s).replaceAll(m -> switch (m.group().charAt(1)) {
      case 'n' -> "\n";
      case 'r' -> "\r";
      default -> Matcher.quoteReplacement(m.group());
    });
    return UNESCAPE.matcher(out).replaceAll("$1");
  }

  private static String expand(String v, Map<String, String> vars) {
    return EXPAND.matcher(v).replaceAll(m -> {
      String replacement;
      if (m.group(1) != null) {
        replacement = m.group().substring(1); // \$X stays literal
      } else if (m.group(4) != null) {
        replacement = vars.getOrDefault(m.group(4), "");
      } else {
        replacement = m.group();
      }
      return Matcher.quoteReplacement(replacement);
    });
  }

  /** Strips every leading and trailing {@code c} (godotenv trims all of them, not one pair). */
  private static String trimChar(String s, char c) {
    int a = 0;
    int b = s.length();
    while (a < b && s.charAt(a) == c) {
      a++;
    }
    while (b > a && s.charAt(b - 1) == c) {
      b--;
    }
    return s.substring(a, b);
  }

  private static String trimSpace(String s) {
    int a = 0;
    int b = s.length();
    while (a < b && isSpace(s.charAt(a))) {
      a++;
    }
    while (b > a && isSpace(s.charAt(b - 1))) {
      b--;
    }
    return s.substring(a, b);
  }

  /** Space but not a line break, as godotenv's isSpace. */
  private static boolean isSpace(char c) {
    return c == '\t' || c == 0x0B || c == '\f' || c == '\r' || c == ' ' || c == 0x85 || c == 0xA0;
  }
}
